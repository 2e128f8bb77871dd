/**
 * API keys and short-term CLI tokens, one document each. Only the SHA-256 digest of the
 * credential is stored, as the document's `_id`: verification is one primary-key read, which is
 * also the one lookup FerretDB's SQLite backend answers from an index (other fields are scanned).
 * The plaintext never is stored. The id shown to users is a separate random `publicId`.
 * Expiry is enforced on read (no TTL indexes); `sweepExpired` removes old rows.
 */
import { randomUUID } from 'node:crypto';
import { Schema, type Connection, type Model } from 'mongoose';
import { conflictOnDuplicate } from '../../platform/store/duplicate-key.ts';
import type { CredentialKind } from './api-key-format.ts';

export interface PersonalCredential {
  id: string;
  kind: CredentialKind;
  ownerId: string;
  /** The owner's primary organization when the credential was created. */
  organizationId?: string;
  name: string;
  digest: string;
  hint: string;
  createdAt: Date;
  expiresAt?: Date;
  lastUsedAt?: Date;
  lastUsedIp?: string;
  /** The sign-in that created it had completed a second factor. */
  createdWithMfa: boolean;
  /** Set when a policy (e.g. enforce-mfa) flagged the credential; `suspended` stops it working. */
  flaggedAt?: Date;
  flagReason?: string;
  suspended: boolean;
}

interface CredentialDoc extends Omit<PersonalCredential, 'id' | 'digest'> {
  _id: string;
  publicId: string;
}

const schema = new Schema<CredentialDoc>(
  {
    _id: { type: String, required: true },
    publicId: { type: String, required: true },
    kind: { type: String, required: true },
    ownerId: { type: String, required: true },
    organizationId: String,
    name: { type: String, required: true },
    hint: { type: String, required: true },
    createdAt: { type: Date, required: true },
    expiresAt: Date,
    lastUsedAt: Date,
    lastUsedIp: String,
    createdWithMfa: { type: Boolean, default: false },
    flaggedAt: Date,
    flagReason: String,
    suspended: { type: Boolean, default: false },
  },
  { collection: 'personal_credentials', versionKey: false },
);

const toCredential = ({ _id, publicId, ...rest }: CredentialDoc): PersonalCredential => ({
  id: publicId,
  digest: _id,
  ...rest,
});

export type NewCredential = Omit<
  PersonalCredential,
  'id' | 'createdAt' | 'lastUsedAt' | 'lastUsedIp' | 'flaggedAt' | 'flagReason' | 'suspended'
>;

export class PersonalCredentialRepository {
  readonly #model: Model<CredentialDoc>;
  readonly #now: () => number;

  constructor(conn: Connection, now: () => number) {
    this.#model =
      (conn.models.PersonalCredential as Model<CredentialDoc>) ??
      conn.model<CredentialDoc>('PersonalCredential', schema);
    this.#now = now;
  }

  async ensureIndexes(): Promise<void> {
    const c = this.#model.collection;
    await c.createIndex({ publicId: 1 }, { unique: true });
    await c.createIndex({ ownerId: 1, name: 1 }, { unique: true });
    await c.createIndex({ organizationId: 1 });
    await c.createIndex({ expiresAt: 1 });
  }

  async create(input: NewCredential): Promise<PersonalCredential> {
    const { digest, ...rest } = input;
    const doc: CredentialDoc = {
      _id: digest,
      publicId: randomUUID(),
      ...rest,
      createdAt: new Date(this.#now()),
      suspended: false,
    };
    await conflictOnDuplicate(
      () => this.#model.create(doc),
      `You already have an API key or token named "${input.name}". Choose another name.`,
    );
    return toCredential(doc);
  }

  /** The one indexed read per authenticated request. */
  async findByDigest(digest: string): Promise<PersonalCredential | undefined> {
    const doc = await this.#model.findById(digest).lean<CredentialDoc>();
    return doc ? toCredential(doc) : undefined;
  }

  async listByOwner(ownerId: string): Promise<PersonalCredential[]> {
    const docs = await this.#model
      .find({ ownerId })
      .sort({ createdAt: -1 })
      .lean<CredentialDoc[]>();
    return docs.map(toCredential);
  }

  async findByOwnerAndName(ownerId: string, name: string): Promise<PersonalCredential | undefined> {
    const doc = await this.#model.findOne({ ownerId, name }).lean<CredentialDoc>();
    return doc ? toCredential(doc) : undefined;
  }

  async findByOwnerAndId(ownerId: string, id: string): Promise<PersonalCredential | undefined> {
    const doc = await this.#model.findOne({ publicId: id, ownerId }).lean<CredentialDoc>();
    return doc ? toCredential(doc) : undefined;
  }

  async delete(digest: string): Promise<boolean> {
    return (await this.#model.deleteOne({ _id: digest })).deletedCount === 1;
  }

  /** Records use; callers throttle it so a busy key is not written on every request. */
  async touch(digest: string, at: Date, ip: string | undefined): Promise<void> {
    await this.#model.updateOne(
      { _id: digest },
      { $set: { lastUsedAt: at, ...(ip ? { lastUsedIp: ip } : {}) } },
    );
  }

  /** Flags (and optionally suspends) the owners' credentials created without a second factor. */
  async flagUnverified(ownerIds: string[], reason: string, suspend: boolean): Promise<number> {
    if (!ownerIds.length) return 0;
    const res = await this.#model.updateMany(
      { ownerId: { $in: ownerIds }, createdWithMfa: false },
      { $set: { flaggedAt: new Date(this.#now()), flagReason: reason, suspended: suspend } },
    );
    return res.modifiedCount;
  }

  /** Clears policy flags of an owner's credentials (e.g. after the owner enrolled a second factor). */
  async clearFlags(ownerId: string): Promise<number> {
    const res = await this.#model.updateMany(
      { ownerId, suspended: true },
      { $set: { suspended: false } },
    );
    return res.modifiedCount;
  }

  async ownersIn(organizationId?: string): Promise<string[]> {
    const docs = await this.#model
      .find(organizationId ? { organizationId } : {}, { ownerId: 1 })
      .lean<{ ownerId: string }[]>();
    return [...new Set(docs.map((d) => d.ownerId))];
  }

  /** Deletes tokens past their expiry and keys expired before `keysBefore`. */
  async sweepExpired(keysBefore: Date): Promise<number> {
    const now = new Date(this.#now());
    const tokens = await this.#model.deleteMany({ kind: 'token', expiresAt: { $lt: now } });
    const keys = await this.#model.deleteMany({ kind: 'apikey', expiresAt: { $lt: keysBefore } });
    return tokens.deletedCount + keys.deletedCount;
  }
}
