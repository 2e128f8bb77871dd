/** Recovery codes: one document per code, stored as a peppered HMAC; using one is one atomic update. */
import { randomUUID } from 'node:crypto';
import { Schema, type Connection, type Model } from 'mongoose';

interface CodeDoc { _id: string; accountId: string; digest: string; createdAt: Date; usedAt?: Date }

const schema = new Schema<CodeDoc>({
  _id: { type: String, required: true },
  accountId: { type: String, required: true },
  digest: { type: String, required: true },
  createdAt: { type: Date, required: true },
  usedAt: Date,
}, { collection: 'recovery_codes', versionKey: false });

export class RecoveryCodeRepository {
  readonly #model: Model<CodeDoc>;
  readonly #now: () => number;

  constructor(conn: Connection, now: () => number) {
    this.#model = conn.models.RecoveryCode as Model<CodeDoc> ?? conn.model<CodeDoc>('RecoveryCode', schema);
    this.#now = now;
  }

  async ensureIndexes(): Promise<void> {
    await this.#model.collection.createIndex({ accountId: 1, digest: 1 });
  }

  /** Replaces the account's codes with a new set (the old set stops working). */
  async replace(accountId: string, digests: string[]): Promise<void> {
    await this.#model.deleteMany({ accountId });
    const now = new Date(this.#now());
    await this.#model.insertMany(digests.map((digest) => ({ _id: randomUUID(), accountId, digest, createdAt: now })));
  }

  /** Marks a matching unused code used; answers whether there was one. */
  async use(accountId: string, digest: string): Promise<boolean> {
    const res = await this.#model.updateOne({ accountId, digest, usedAt: { $exists: false } }, { $set: { usedAt: new Date(this.#now()) } });
    return res.modifiedCount === 1;
  }

  async remaining(accountId: string): Promise<number> {
    return this.#model.countDocuments({ accountId, usedAt: { $exists: false } });
  }

  async removeAll(accountId: string): Promise<void> {
    await this.#model.deleteMany({ accountId });
  }
}
