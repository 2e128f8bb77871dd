import { randomUUID } from 'node:crypto';
import { Schema, type Connection, type Model } from 'mongoose';
import { conflictOnDuplicate } from '../store/duplicate-key.ts';
import { NO_READ_CACHE, type ReadThrough } from '../store/read-through.ts';

export const ORG_ADMIN = 'org:admin';

export interface Organization {
  id: string;
  name: string;
  displayName: string;
  createdAt: Date;
}
export interface Membership {
  organizationId: string;
  accountId: string;
  roles: string[];
  createdAt: Date;
}

interface OrgDoc {
  _id: string;
  name: string;
  displayName: string;
  createdAt: Date;
}
interface MembershipDoc {
  _id: string;
  organizationId: string;
  accountId: string;
  roles: string[];
  createdAt: Date;
}

const orgSchema = new Schema<OrgDoc>(
  {
    _id: { type: String, required: true },
    name: { type: String, required: true },
    displayName: { type: String, required: true },
    createdAt: { type: Date, required: true },
  },
  { collection: 'organizations', versionKey: false },
);

const membershipSchema = new Schema<MembershipDoc>(
  {
    _id: { type: String, required: true },
    organizationId: { type: String, required: true },
    accountId: { type: String, required: true },
    roles: { type: [String], default: [] },
    createdAt: { type: Date, required: true },
  },
  { collection: 'memberships', versionKey: false },
);

const toOrg = ({ _id, ...rest }: OrgDoc): Organization => ({ id: _id, ...rest });
const toMembership = ({ _id: _id, ...rest }: MembershipDoc): Membership => rest;

export class OrganizationRepository {
  readonly #orgs: Model<OrgDoc>;
  readonly #members: Model<MembershipDoc>;
  readonly #now: () => number;
  readonly #cache: ReadThrough;

  constructor(conn: Connection, now: () => number, cache: ReadThrough = NO_READ_CACHE) {
    this.#cache = cache;
    this.#orgs =
      (conn.models.Organization as Model<OrgDoc>) ?? conn.model<OrgDoc>('Organization', orgSchema);
    this.#members =
      (conn.models.Membership as Model<MembershipDoc>) ??
      conn.model<MembershipDoc>('Membership', membershipSchema);
    this.#now = now;
  }

  async ensureIndexes(): Promise<void> {
    await this.#orgs.collection.createIndex({ name: 1 }, { unique: true });
    await this.#members.collection.createIndex(
      { organizationId: 1, accountId: 1 },
      { unique: true },
    );
    await this.#members.collection.createIndex({ accountId: 1 });
  }

  async create(name: string, displayName: string): Promise<Organization> {
    const doc: OrgDoc = {
      _id: randomUUID(),
      name: name.toLowerCase(),
      displayName,
      createdAt: new Date(this.#now()),
    };
    await conflictOnDuplicate(
      () => this.#orgs.create(doc),
      `organization "${name}" already exists`,
    );
    await this.#cache.changed();
    return toOrg(doc);
  }

  async findByName(name: string): Promise<Organization | undefined> {
    const doc = await this.#orgs.findOne({ name: name.toLowerCase() }).lean<OrgDoc>();
    return doc ? toOrg(doc) : undefined;
  }

  async findById(id: string): Promise<Organization | undefined> {
    return this.#cache.read(`organization:${id}`, async () => {
      const doc = await this.#orgs.findById(id).lean<OrgDoc>();
      return doc ? toOrg(doc) : undefined;
    });
  }

  /** Adds the account to the organization, or sets its roles when it is already a member. */
  async upsertMembership(
    organizationId: string,
    accountId: string,
    roles: string[],
  ): Promise<void> {
    await this.#members.updateOne(
      { organizationId, accountId },
      { $set: { roles }, $setOnInsert: { _id: randomUUID(), createdAt: new Date(this.#now()) } },
      { upsert: true },
    );
    await this.#cache.changed();
  }

  async membershipsOf(accountId: string): Promise<Membership[]> {
    return this.#cache.read(`memberships:${accountId}`, async () => {
      const docs = await this.#members
        .find({ accountId })
        .sort({ createdAt: 1 })
        .lean<MembershipDoc[]>();
      return docs.map(toMembership);
    });
  }

  async membersOf(organizationId: string): Promise<Membership[]> {
    const docs = await this.#members.find({ organizationId }).lean<MembershipDoc[]>();
    return docs.map(toMembership);
  }
}
