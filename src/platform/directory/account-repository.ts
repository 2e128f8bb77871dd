import { randomUUID } from 'node:crypto';
import { Schema, type Connection, type Model } from 'mongoose';
import { conflictOnDuplicate } from '../store/duplicate-key.ts';
import { NO_READ_CACHE, type ReadThrough } from '../store/read-through.ts';

export interface Account {
  id: string;
  username: string;
  email: string;
  displayName: string;
  passwordHash: string;
  disabled: boolean;
  platformAdmin: boolean;
  createdAt: Date;
  updatedAt: Date;
  passwordUpdatedAt: Date;
  /** OIDC standard claims (given_name, family_name, locale, zoneinfo), when the person has set them. */
  givenName?: string;
  familyName?: string;
  /** BCP 47 language tag, e.g. en-US. */
  locale?: string;
  /** IANA time zone name, e.g. Europe/Paris. */
  zoneinfo?: string;
}

/** What a person edits on their profile page; an optional field left out is cleared. */
export type AccountProfile = Pick<
  Account,
  'displayName' | 'givenName' | 'familyName' | 'locale' | 'zoneinfo'
>;

const OPTIONAL_PROFILE_FIELDS = ['givenName', 'familyName', 'locale', 'zoneinfo'] as const;

interface AccountDoc extends Omit<Account, 'id'> {
  _id: string;
  usernameLower: string;
}

const schema = new Schema<AccountDoc>(
  {
    _id: { type: String, required: true },
    username: { type: String, required: true },
    usernameLower: { type: String, required: true },
    email: { type: String, required: true },
    displayName: { type: String, required: true },
    passwordHash: { type: String, required: true },
    disabled: { type: Boolean, default: false },
    platformAdmin: { type: Boolean, default: false },
    createdAt: { type: Date, required: true },
    updatedAt: { type: Date, required: true },
    passwordUpdatedAt: { type: Date, required: true },
    givenName: { type: String },
    familyName: { type: String },
    locale: { type: String },
    zoneinfo: { type: String },
  },
  { collection: 'accounts', versionKey: false },
);

const toAccount = ({ _id, usernameLower: _u, ...rest }: AccountDoc): Account => ({
  id: _id,
  ...rest,
});

export interface NewAccount {
  username: string;
  email: string;
  displayName: string;
  passwordHash: string;
  platformAdmin?: boolean;
}

export class AccountRepository {
  readonly #model: Model<AccountDoc>;
  readonly #now: () => number;
  readonly #cache: ReadThrough;

  constructor(conn: Connection, now: () => number, cache: ReadThrough = NO_READ_CACHE) {
    this.#model =
      (conn.models.Account as Model<AccountDoc>) ?? conn.model<AccountDoc>('Account', schema);
    this.#now = now;
    this.#cache = cache;
  }

  async ensureIndexes(): Promise<void> {
    const c = this.#model.collection;
    await c.createIndex({ usernameLower: 1 }, { unique: true });
    await c.createIndex({ email: 1 }, { unique: true });
  }

  async create(input: NewAccount): Promise<Account> {
    const now = new Date(this.#now());
    const doc: AccountDoc = {
      _id: randomUUID(),
      username: input.username,
      usernameLower: input.username.toLowerCase(),
      email: input.email.toLowerCase(),
      displayName: input.displayName,
      passwordHash: input.passwordHash,
      disabled: false,
      platformAdmin: input.platformAdmin ?? false,
      createdAt: now,
      updatedAt: now,
      passwordUpdatedAt: now,
    };
    await conflictOnDuplicate(
      () => this.#model.create(doc),
      'an account with this username or email already exists',
    );
    await this.#cache.changed();
    return toAccount(doc);
  }

  async findById(id: string): Promise<Account | undefined> {
    return this.#cache.read(`account:${id}`, async () => {
      const doc = await this.#model.findById(id).lean<AccountDoc>();
      return doc ? toAccount(doc) : undefined;
    });
  }

  /** Finds by username (case-insensitive) or email. */
  async findByLogin(login: string): Promise<Account | undefined> {
    const key = login.trim().toLowerCase();
    const doc = await this.#model
      .findOne(key.includes('@') ? { email: key } : { usernameLower: key })
      .lean<AccountDoc>();
    return doc ? toAccount(doc) : undefined;
  }

  async list(limit: number, skip: number): Promise<Account[]> {
    const docs = await this.#model
      .find()
      .sort({ usernameLower: 1 })
      .skip(skip)
      .limit(limit)
      .lean<AccountDoc[]>();
    return docs.map(toAccount);
  }

  async setPasswordHash(id: string, passwordHash: string): Promise<boolean> {
    const now = new Date(this.#now());
    const res = await this.#model.updateOne(
      { _id: id },
      { $set: { passwordHash, passwordUpdatedAt: now, updatedAt: now } },
    );
    await this.#cache.changed();
    return res.matchedCount === 1;
  }

  async setProfile(id: string, profile: AccountProfile): Promise<boolean> {
    const set: Record<string, unknown> = {
      displayName: profile.displayName,
      updatedAt: new Date(this.#now()),
    };
    const unset: Record<string, ''> = {};
    for (const field of OPTIONAL_PROFILE_FIELDS) {
      if (profile[field] === undefined) unset[field] = '';
      else set[field] = profile[field];
    }
    const res = await this.#model.updateOne(
      { _id: id },
      { $set: set, ...(Object.keys(unset).length ? { $unset: unset } : {}) },
    );
    await this.#cache.changed();
    return res.matchedCount === 1;
  }

  async setDisabled(id: string, disabled: boolean): Promise<boolean> {
    const res = await this.#model.updateOne(
      { _id: id },
      { $set: { disabled, updatedAt: new Date(this.#now()) } },
    );
    await this.#cache.changed();
    return res.matchedCount === 1;
  }

  async count(): Promise<number> {
    return this.#model.estimatedDocumentCount();
  }
}
