/** Recovery codes: one document per code, stored as a peppered HMAC; single use is a once-marker (mfa-service.ts). */
import { randomUUID } from 'node:crypto';
import { Schema, type Connection, type Model } from 'mongoose';

interface CodeDoc {
  _id: string;
  accountId: string;
  digest: string;
  createdAt: Date;
  usedAt?: Date;
}

const schema = new Schema<CodeDoc>(
  {
    _id: { type: String, required: true },
    accountId: { type: String, required: true },
    digest: { type: String, required: true },
    createdAt: { type: Date, required: true },
    usedAt: Date,
  },
  { collection: 'recovery_codes', versionKey: false },
);

export class RecoveryCodeRepository {
  readonly #model: Model<CodeDoc>;
  readonly #now: () => number;

  constructor(conn: Connection, now: () => number) {
    this.#model =
      (conn.models.RecoveryCode as Model<CodeDoc>) ?? conn.model<CodeDoc>('RecoveryCode', schema);
    this.#now = now;
  }

  async ensureIndexes(): Promise<void> {
    await this.#model.collection.createIndex({ accountId: 1, digest: 1 });
  }

  /** Replaces the account's codes with a new set (the old set stops working). */
  async replace(accountId: string, digests: string[]): Promise<void> {
    await this.#model.deleteMany({ accountId });
    const now = new Date(this.#now());
    await this.#model.insertMany(
      digests.map((digest) => ({ _id: randomUUID(), accountId, digest, createdAt: now })),
    );
  }

  /** The id of a matching unused code, if there is one. */
  async findUnused(accountId: string, digest: string): Promise<string | undefined> {
    return (
      await this.#model
        .findOne({ accountId, digest, usedAt: { $exists: false } }, { _id: 1 })
        .lean<CodeDoc>()
    )?._id;
  }

  /** Marks a code used (after its single use was claimed: see MfaService). */
  async markUsed(id: string): Promise<void> {
    await this.#model.updateOne({ _id: id }, { $set: { usedAt: new Date(this.#now()) } });
  }

  async remaining(accountId: string): Promise<number> {
    return this.#model.countDocuments({ accountId, usedAt: { $exists: false } });
  }

  async removeAll(accountId: string): Promise<void> {
    await this.#model.deleteMany({ accountId });
  }
}
