import { randomUUID } from 'node:crypto';
import { Schema, type Connection, type Model } from 'mongoose';
import { conflictOnDuplicate } from '../../platform/store/duplicate-key.ts';

/** An SSH public key registered for cluster login, stored normalised (type, blob, comment apart). */
export interface SshPublicKey {
  id: string;
  ownerId: string;
  title: string;
  type: string;
  /** Base64 key blob. */
  blob: string;
  comment: string;
  bits: number;
  fingerprint: string;
  createdAt: Date;
  expiresAt?: Date;
  /** Last time a cluster's sshd asked about this key (the AuthorizedKeysCommand passed its fingerprint). */
  lastUsedAt?: Date;
}

interface SshPublicKeyDoc extends Omit<SshPublicKey, 'id'> {
  _id: string;
  /** The owner's username, lower-cased: the AuthorizedKeysCommand looks keys up by it in one indexed read. */
  usernameLower: string;
}

const schema = new Schema<SshPublicKeyDoc>(
  {
    _id: { type: String, required: true },
    ownerId: { type: String, required: true },
    usernameLower: { type: String, required: true },
    title: { type: String, required: true },
    type: { type: String, required: true },
    blob: { type: String, required: true },
    comment: { type: String, default: '' },
    bits: { type: Number, required: true },
    fingerprint: { type: String, required: true },
    createdAt: { type: Date, required: true },
    expiresAt: Date,
    lastUsedAt: Date,
  },
  { collection: 'ssh_public_keys', versionKey: false },
);

const toKey = ({ _id, usernameLower: _u, ...rest }: SshPublicKeyDoc): SshPublicKey => ({
  id: _id,
  ...rest,
});

export type NewSshPublicKey = Omit<SshPublicKey, 'id' | 'createdAt' | 'lastUsedAt'> & {
  username: string;
};

export const DUPLICATE_KEY_MESSAGE =
  'This key is already registered. Each key can be registered only once: generate a new key for this account.';

export class SshPublicKeyRepository {
  readonly #model: Model<SshPublicKeyDoc>;
  readonly #now: () => number;

  constructor(conn: Connection, now: () => number) {
    this.#model =
      (conn.models.SshPublicKey as Model<SshPublicKeyDoc>) ??
      conn.model<SshPublicKeyDoc>('SshPublicKey', schema);
    this.#now = now;
  }

  async ensureIndexes(): Promise<void> {
    const c = this.#model.collection;
    await c.createIndex({ fingerprint: 1 }, { unique: true });
    await c.createIndex({ usernameLower: 1 });
    await c.createIndex({ ownerId: 1, createdAt: 1 });
  }

  async create(input: NewSshPublicKey): Promise<SshPublicKey> {
    const { username, ...rest } = input;
    const doc: SshPublicKeyDoc = {
      _id: randomUUID(),
      ...rest,
      usernameLower: username.toLowerCase(),
      createdAt: new Date(this.#now()),
    };
    if (!doc.expiresAt) delete doc.expiresAt;
    await conflictOnDuplicate(() => this.#model.create(doc), DUPLICATE_KEY_MESSAGE);
    return toKey(doc);
  }

  async listByOwner(ownerId: string): Promise<SshPublicKey[]> {
    return (
      await this.#model.find({ ownerId }).sort({ createdAt: 1 }).lean<SshPublicKeyDoc[]>()
    ).map(toKey);
  }

  /** All keys filed under a username (one indexed read); the caller checks owner and expiry. */
  async listByUsername(username: string): Promise<SshPublicKey[]> {
    return (
      await this.#model.find({ usernameLower: username.toLowerCase() }).lean<SshPublicKeyDoc[]>()
    ).map(toKey);
  }

  async findOwned(ownerId: string, id: string): Promise<SshPublicKey | undefined> {
    const doc = await this.#model.findOne({ _id: id, ownerId }).lean<SshPublicKeyDoc>();
    return doc ? toKey(doc) : undefined;
  }

  async deleteOwned(ownerId: string, id: string): Promise<boolean> {
    return (await this.#model.deleteOne({ _id: id, ownerId })).deletedCount === 1;
  }

  /** Records use, at most once per `minIntervalMs` per key (a single conditional update). */
  async touch(id: string, minIntervalMs: number): Promise<void> {
    const now = this.#now();
    await this.#model.updateOne(
      {
        _id: id,
        $or: [
          { lastUsedAt: { $exists: false } },
          { lastUsedAt: { $lt: new Date(now - minIntervalMs) } },
        ],
      },
      { $set: { lastUsedAt: new Date(now) } },
    );
  }
}
