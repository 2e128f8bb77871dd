import { randomUUID } from 'node:crypto';
import { Schema, type Connection, type Model } from 'mongoose';

export interface FailureCounter { failures: number; lastFailureAt: Date }

/**
 * One document per failed attempt, keyed by subject (`login:acct:<id>`, `login:ip:<ip>`, …).
 * Counting inserted rows stays exact under concurrency on every server; a counter updated with
 * `$inc` loses updates on FerretDB 1.x, whose findOneAndUpdate is not atomic.
 */
interface FailureDoc { _id: string; key: string; at: Date }

const schema = new Schema<FailureDoc>({
  _id: { type: String, required: true },
  key: { type: String, required: true },
  at: { type: Date, required: true },
}, { collection: 'throttle_failures', versionKey: false });

export class ThrottleRepository {
  readonly #model: Model<FailureDoc>;

  constructor(conn: Connection) {
    this.#model = conn.models.ThrottleFailure as Model<FailureDoc> ?? conn.model<FailureDoc>('ThrottleFailure', schema);
  }

  async ensureIndexes(): Promise<void> {
    await this.#model.collection.createIndex({ key: 1, at: -1 });
    await this.#model.collection.createIndex({ at: 1 });
  }

  async get(key: string): Promise<FailureCounter | undefined> {
    const [failures, last] = await Promise.all([
      this.#model.countDocuments({ key }),
      this.#model.findOne({ key }).sort({ at: -1 }).lean<FailureDoc>(),
    ]);
    return last ? { failures, lastFailureAt: last.at } : undefined;
  }

  /** Records one more failure; `restart` first forgets older ones (the count went stale). */
  async recordFailure(key: string, at: Date, restart: boolean): Promise<FailureCounter> {
    if (restart) await this.#model.deleteMany({ key });
    await this.#model.create({ _id: randomUUID(), key, at });
    return (await this.get(key))!;
  }

  async reset(key: string): Promise<void> {
    await this.#model.deleteMany({ key });
  }

  async sweepOlderThan(cutoff: Date): Promise<void> {
    await this.#model.deleteMany({ at: { $lt: cutoff } });
  }
}
