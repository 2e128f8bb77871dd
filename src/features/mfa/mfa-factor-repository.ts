/**
 * Second factors, one document each: an authenticator app (TOTP, its seed sealed with the
 * envelope) or a security key (WebAuthn public credential). A TOTP factor is `pending` from setup
 * until a valid code confirms it; only enabled factors count.
 */
import { randomUUID } from 'node:crypto';
import { Schema, type Connection, type Model } from 'mongoose';
import type { Sealed } from '../../platform/crypto/envelope.ts';
import { conflictOnDuplicate } from '../../platform/store/duplicate-key.ts';
import { NO_READ_CACHE, type ReadThrough } from '../../platform/store/read-through.ts';

export interface OtpData {
  seed: Sealed;
  lastStep: number;
}
export interface WebAuthnData {
  credentialId: string;
  publicKey: string;
  counter: number;
  transports: string[];
  aaguid: string;
  deviceType: string;
  backedUp: boolean;
  attestationFormat: string;
  /** A passkey: discoverable, registered with user verification (src/features/passkeys). */
  passkey?: boolean;
}

export interface MfaFactor {
  id: string;
  accountId: string;
  type: 'otp' | 'webauthn';
  name: string;
  enabled: boolean;
  createdAt: Date;
  updatedAt: Date;
  lastUsedAt?: Date;
  otp?: OtpData;
  webauthn?: WebAuthnData;
}

interface FactorDoc extends Omit<MfaFactor, 'id'> {
  _id: string;
  credentialId?: string;
}

const schema = new Schema<FactorDoc>(
  {
    _id: { type: String, required: true },
    accountId: { type: String, required: true },
    type: { type: String, required: true },
    name: { type: String, required: true },
    enabled: { type: Boolean, required: true },
    createdAt: { type: Date, required: true },
    updatedAt: { type: Date, required: true },
    lastUsedAt: Date,
    credentialId: String,
    otp: { type: Schema.Types.Mixed },
    webauthn: { type: Schema.Types.Mixed },
  },
  { collection: 'mfa_factors', versionKey: false },
);

const toFactor = ({ _id, credentialId: _c, ...rest }: FactorDoc): MfaFactor => ({
  id: _id,
  ...rest,
});

export class MfaFactorRepository {
  readonly #model: Model<FactorDoc>;
  readonly #now: () => number;
  readonly #cache: ReadThrough;

  constructor(conn: Connection, now: () => number, cache: ReadThrough = NO_READ_CACHE) {
    this.#model =
      (conn.models.MfaFactor as Model<FactorDoc>) ?? conn.model<FactorDoc>('MfaFactor', schema);
    this.#now = now;
    this.#cache = cache;
  }

  /** Runs a write, then tells the read cache (every write: factors, their counters and last use). */
  async #write<T>(write: () => Promise<T>): Promise<T> {
    try {
      return await write();
    } finally {
      await this.#cache.changed();
    }
  }

  async ensureIndexes(): Promise<void> {
    await this.#model.collection.createIndex({ accountId: 1 });
    // Every factor gets a credentialId (WebAuthn id, or a unique placeholder), so the index can be unique without sparse/partial support.
    await this.#model.collection.createIndex({ credentialId: 1 }, { unique: true });
  }

  async create(
    input: Omit<MfaFactor, 'id' | 'createdAt' | 'updatedAt'> & { id?: string },
  ): Promise<MfaFactor> {
    const now = new Date(this.#now());
    const id = input.id ?? randomUUID();
    const { id: _id, ...fields } = input;
    const doc: FactorDoc = {
      _id: id,
      ...fields,
      credentialId: input.webauthn?.credentialId ?? `factor:${id}`,
      createdAt: now,
      updatedAt: now,
    };
    await this.#write(() =>
      conflictOnDuplicate(
        () => this.#model.create(doc),
        'This security key is already registered.',
      ),
    );
    return toFactor(doc);
  }

  async listFor(accountId: string): Promise<MfaFactor[]> {
    return this.#cache.read(`factors:${accountId}`, async () =>
      (await this.#model.find({ accountId }).sort({ createdAt: 1 }).lean<FactorDoc[]>()).map(
        toFactor,
      ),
    );
  }

  async find(accountId: string, id: string): Promise<MfaFactor | undefined> {
    const doc = await this.#model.findOne({ _id: id, accountId }).lean<FactorDoc>();
    return doc ? toFactor(doc) : undefined;
  }

  async findByCredentialId(credentialId: string): Promise<MfaFactor | undefined> {
    const doc = await this.#model.findOne({ credentialId }).lean<FactorDoc>();
    return doc ? toFactor(doc) : undefined;
  }

  async enable(accountId: string, id: string, lastStep: number): Promise<boolean> {
    const res = await this.#write(() =>
      this.#model.updateOne(
        { _id: id, accountId, enabled: false },
        { $set: { enabled: true, 'otp.lastStep': lastStep, updatedAt: new Date(this.#now()) } },
      ),
    );
    return res.modifiedCount === 1;
  }

  /**
   * Records the latest used TOTP step (codes of that step or earlier are then refused). Single
   * use itself is the caller's once-marker; this write only moves the floor forward.
   */
  async recordOtpStep(id: string, step: number): Promise<void> {
    await this.#write(() =>
      this.#model.updateOne(
        { _id: id, 'otp.lastStep': { $lt: step } },
        { $set: { 'otp.lastStep': step, lastUsedAt: new Date(this.#now()) } },
      ),
    );
  }

  /**
   * Moves a key's counter forward (never back) and records its use. Single use of each counter
   * value is the caller's once-marker; this write only keeps the highest value seen.
   */
  async raiseWebAuthnCounter(id: string, counter: number): Promise<void> {
    await this.#write(() =>
      this.#model.updateOne(
        { _id: id },
        { $max: { 'webauthn.counter': counter }, $set: { lastUsedAt: new Date(this.#now()) } },
      ),
    );
  }

  async remove(accountId: string, id: string): Promise<boolean> {
    return (
      (await this.#write(() => this.#model.deleteOne({ _id: id, accountId }))).deletedCount === 1
    );
  }

  async removePendingOtp(accountId: string): Promise<void> {
    await this.#write(() => this.#model.deleteMany({ accountId, type: 'otp', enabled: false }));
  }

  async removeAll(accountId: string, type?: 'otp' | 'webauthn'): Promise<number> {
    return (
      (await this.#write(() => this.#model.deleteMany(type ? { accountId, type } : { accountId })))
        .deletedCount ?? 0
    );
  }
}
