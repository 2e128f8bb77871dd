import { Schema, type Connection, type Model } from 'mongoose';

export interface FailureCounter { failures: number; lastFailureAt: Date }

interface ThrottleDoc { _id: string; failures: number; lastFailureAt: Date }

const schema = new Schema<ThrottleDoc>({
  _id: { type: String, required: true },
  failures: { type: Number, required: true },
  lastFailureAt: { type: Date, required: true },
}, { collection: 'throttles', versionKey: false });

/** Consecutive-failure counters keyed by subject (`login:acct:<id>`, `login:ip:<ip>`, …). */
export class ThrottleRepository {
  readonly #model: Model<ThrottleDoc>;

  constructor(conn: Connection) {
    this.#model = conn.models.Throttle as Model<ThrottleDoc> ?? conn.model<ThrottleDoc>('Throttle', schema);
  }

  async get(key: string): Promise<FailureCounter | undefined> {
    const doc = await this.#model.findById(key).lean<ThrottleDoc>();
    return doc ? { failures: doc.failures, lastFailureAt: doc.lastFailureAt } : undefined;
  }

  /** Atomically counts one more failure; `restart` starts the count over (the old one went stale). */
  async recordFailure(key: string, at: Date, restart: boolean): Promise<FailureCounter> {
    const update = restart
      ? { $set: { failures: 1, lastFailureAt: at } }
      : { $inc: { failures: 1 }, $set: { lastFailureAt: at } };
    const doc = await this.#model.findOneAndUpdate({ _id: key }, update, { upsert: true, returnDocument: 'after' }).lean<ThrottleDoc>();
    return { failures: doc!.failures, lastFailureAt: doc!.lastFailureAt };
  }

  async reset(key: string): Promise<void> {
    await this.#model.deleteOne({ _id: key });
  }

  async sweepOlderThan(cutoff: Date): Promise<void> {
    await this.#model.deleteMany({ lastFailureAt: { $lt: cutoff } });
  }
}
