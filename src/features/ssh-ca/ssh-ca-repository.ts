import { Schema, type Connection, type Model } from 'mongoose';
import type { Sealed } from '../../platform/crypto/envelope.ts';
import { conflictOnDuplicate } from '../../platform/store/duplicate-key.ts';

/**
 * SSH certificate-authority keys. `published`: trusted (served in ca.pub) but not signing — a new
 * key before activation, or the previous key after it; `active`: signing and published; `retired`:
 * neither. Ids are `ca-<n>`, so two instances creating the first key at once agree on one.
 */
export type CaKeyState = 'published' | 'active' | 'retired';

export interface SshCaKey {
  id: string;
  /** SSH key type, e.g. ssh-ed25519 or ecdsa-sha2-nistp256. */
  type: string;
  /** Base64 public key blob. */
  publicBlob: string;
  fingerprint: string;
  /** The PKCS#8 private key, sealed with the envelope (aad `ssh-ca-key:<id>`). */
  sealed: Sealed;
  state: CaKeyState;
  createdAt: Date;
  activatedAt?: Date;
  retiredAt?: Date;
}

interface SshCaKeyDoc extends Omit<SshCaKey, 'id'> {
  _id: string;
  seq: number;
}

const schema = new Schema<SshCaKeyDoc>(
  {
    _id: { type: String, required: true },
    seq: { type: Number, required: true },
    type: { type: String, required: true },
    publicBlob: { type: String, required: true },
    fingerprint: { type: String, required: true },
    sealed: { type: Schema.Types.Mixed, required: true },
    state: { type: String, required: true },
    createdAt: { type: Date, required: true },
    activatedAt: Date,
    retiredAt: Date,
  },
  { collection: 'ssh_ca_keys', versionKey: false },
);

const toKey = ({ _id, seq: _s, ...rest }: SshCaKeyDoc): SshCaKey => ({ id: _id, ...rest });

export type NewSshCaKey = Pick<SshCaKey, 'type' | 'publicBlob' | 'fingerprint' | 'state'> & {
  seal: (id: string) => Sealed;
};

export class SshCaRepository {
  readonly #model: Model<SshCaKeyDoc>;
  readonly #now: () => number;

  constructor(conn: Connection, now: () => number) {
    this.#model =
      (conn.models.SshCaKey as Model<SshCaKeyDoc>) ?? conn.model<SshCaKeyDoc>('SshCaKey', schema);
    this.#now = now;
  }

  async ensureIndexes(): Promise<void> {
    await this.#model.collection.createIndex({ seq: 1 }, { unique: true });
    await this.#model.collection.createIndex({ state: 1 });
  }

  /** Every key, oldest first. */
  async list(): Promise<SshCaKey[]> {
    return (await this.#model.find().sort({ seq: 1 }).lean<SshCaKeyDoc[]>()).map(toKey);
  }

  async findById(id: string): Promise<SshCaKey | undefined> {
    const doc = await this.#model.findById(id).lean<SshCaKeyDoc>();
    return doc ? toKey(doc) : undefined;
  }

  /**
   * Adds key number `seq` (1 for the first key); a concurrent insert of the same number is a 409,
   * so exactly one of two racing writers wins.
   */
  async insert(seq: number, input: NewSshCaKey): Promise<SshCaKey> {
    const id = `ca-${seq}`;
    const now = new Date(this.#now());
    const doc: SshCaKeyDoc = {
      _id: id,
      seq,
      type: input.type,
      publicBlob: input.publicBlob,
      fingerprint: input.fingerprint,
      sealed: input.seal(id),
      state: input.state,
      createdAt: now,
      ...(input.state === 'active' ? { activatedAt: now } : {}),
    };
    await conflictOnDuplicate(
      () => this.#model.create(doc),
      `CA key ${id} was created concurrently; list the keys and try again.`,
    );
    return toKey(doc);
  }

  /** Moves a key from one of `from` to `to`; answers whether it was in one of them. */
  async transition(id: string, from: CaKeyState[], to: CaKeyState): Promise<boolean> {
    const at = new Date(this.#now());
    const stamp = to === 'active' ? { activatedAt: at } : to === 'retired' ? { retiredAt: at } : {};
    const res = await this.#model.updateOne(
      { _id: id, state: { $in: from } },
      { $set: { state: to, ...stamp } },
    );
    return res.modifiedCount === 1;
  }

  /** Demotes every active key but `keep` to published (after `keep` became active). */
  async demoteOthers(keep: string): Promise<void> {
    await this.#model.updateMany(
      { state: 'active', _id: { $ne: keep } },
      { $set: { state: 'published' } },
    );
  }

  /** Replaces the sealed private key (re-wrapped under a newer key-encryption key). */
  async replaceSealed(id: string, sealed: Sealed): Promise<void> {
    await this.#model.updateOne({ _id: id }, { $set: { sealed } });
  }
}
