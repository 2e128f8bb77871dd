import { randomUUID } from 'node:crypto';
import { Schema, type Connection, type Model } from 'mongoose';
import type { Sealed } from '../../platform/crypto/envelope.ts';
import { conflictOnDuplicate } from '../../platform/store/duplicate-key.ts';

/** A private key the platform uses on the user's behalf; the key itself only ever as a sealed envelope. */
export interface SshPrivateKey {
  id: string;
  ownerId: string;
  name: string;
  description: string;
  keyType: string;
  bits: number;
  /** Fingerprint and authorized_keys line of the public half. */
  fingerprint: string;
  publicKey: string;
  /** The OpenSSH private key, sealed with AAD `ssh-private-key:<ownerId>:<id>`. */
  sealed: Sealed;
  createdAt: Date;
  /** Who added it, when not the owner (an organization admin). */
  createdBy?: string;
  lastUsedAt?: Date;
}

interface SshPrivateKeyDoc extends Omit<SshPrivateKey, 'id'> {
  _id: string;
  nameLower: string;
}

const schema = new Schema<SshPrivateKeyDoc>(
  {
    _id: { type: String, required: true },
    ownerId: { type: String, required: true },
    name: { type: String, required: true },
    nameLower: { type: String, required: true },
    description: { type: String, default: '' },
    keyType: { type: String, required: true },
    bits: { type: Number, required: true },
    fingerprint: { type: String, required: true },
    publicKey: { type: String, required: true },
    sealed: { type: Schema.Types.Mixed, required: true },
    createdAt: { type: Date, required: true },
    createdBy: String,
    lastUsedAt: Date,
  },
  { collection: 'ssh_private_keys', versionKey: false },
);

const toKey = ({ _id, nameLower: _n, ...rest }: SshPrivateKeyDoc): SshPrivateKey => ({
  id: _id,
  ...rest,
});

export type NewSshPrivateKey = Omit<SshPrivateKey, 'createdAt' | 'lastUsedAt'>;

export class SshPrivateKeyRepository {
  readonly #model: Model<SshPrivateKeyDoc>;
  readonly #now: () => number;

  constructor(conn: Connection, now: () => number) {
    this.#model =
      (conn.models.SshPrivateKey as Model<SshPrivateKeyDoc>) ??
      conn.model<SshPrivateKeyDoc>('SshPrivateKey', schema);
    this.#now = now;
  }

  async ensureIndexes(): Promise<void> {
    const c = this.#model.collection;
    await c.createIndex({ ownerId: 1, nameLower: 1 }, { unique: true });
  }

  /** The id is chosen by the caller: it is sealed into the ciphertext's associated data first. */
  async create(input: NewSshPrivateKey): Promise<SshPrivateKey> {
    const doc: SshPrivateKeyDoc = {
      ...(({ id: _i, ...r }) => r)(input),
      _id: input.id,
      nameLower: input.name.toLowerCase(),
      createdAt: new Date(this.#now()),
    };
    if (!doc.createdBy) delete doc.createdBy;
    await conflictOnDuplicate(
      () => this.#model.create(doc),
      `You already have an SSH private key named "${input.name}". Choose another name.`,
    );
    return toKey(doc);
  }

  async listByOwner(ownerId: string): Promise<SshPrivateKey[]> {
    return (
      await this.#model.find({ ownerId }).sort({ createdAt: 1 }).lean<SshPrivateKeyDoc[]>()
    ).map(toKey);
  }

  async findByName(ownerId: string, name: string): Promise<SshPrivateKey | undefined> {
    const doc = await this.#model
      .findOne({ ownerId, nameLower: name.toLowerCase() })
      .lean<SshPrivateKeyDoc>();
    return doc ? toKey(doc) : undefined;
  }

  async deleteByName(ownerId: string, name: string): Promise<SshPrivateKey | undefined> {
    const doc = await this.#model
      .findOneAndDelete({ ownerId, nameLower: name.toLowerCase() })
      .lean<SshPrivateKeyDoc>();
    return doc ? toKey(doc) : undefined;
  }

  async touch(id: string): Promise<void> {
    await this.#model.updateOne({ _id: id }, { $set: { lastUsedAt: new Date(this.#now()) } });
  }

  /** Replaces the sealed value only if it is still the one read (a rewrap racing a delete or another rewrap loses). */
  async replaceSealed(id: string, previousWrappedKey: string, sealed: Sealed): Promise<boolean> {
    const res = await this.#model.updateOne(
      { _id: id, 'sealed.wk': previousWrappedKey },
      { $set: { sealed } },
    );
    return res.modifiedCount === 1;
  }
}

export const newSshPrivateKeyId = (): string => randomUUID();
