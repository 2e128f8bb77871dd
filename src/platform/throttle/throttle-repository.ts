import { Schema, type Connection, type Model } from 'mongoose';
import { isDuplicateKey } from '../store/duplicate-key.ts';

/** What is stored for one subject: its reserved attempts (slot number and time), oldest first. */
export interface SubjectAttempts {
  slots: { slot: number; at: Date }[];
}

/**
 * One document per attempt, keyed `<subject>#<slot>` (subjects: `login:acct:<id>`,
 * `login:ip:<ip>`, …). An attempt is reserved by inserting the next slot before the secret is
 * checked: a unique `_id` insert is atomic on MongoDB and on FerretDB 1.x, so N concurrent
 * attempts get N distinct slots and all of them are counted. (A counter updated with `$inc`, or
 * "check, then record", lets a burst through: FerretDB's updates are not atomic, issue #3040.)
 */
interface AttemptDoc {
  _id: string;
  key: string;
  slot: number;
  at: Date;
}

const schema = new Schema<AttemptDoc>(
  {
    _id: { type: String, required: true },
    key: { type: String, required: true },
    slot: { type: Number, required: true },
    at: { type: Date, required: true },
  },
  { collection: 'throttle_failures', versionKey: false },
);

export class ThrottleRepository {
  readonly #model: Model<AttemptDoc>;

  constructor(conn: Connection) {
    this.#model =
      (conn.models.ThrottleFailure as Model<AttemptDoc>) ??
      conn.model<AttemptDoc>('ThrottleFailure', schema);
  }

  async ensureIndexes(): Promise<void> {
    await this.#model.collection.createIndex({ at: 1 });
  }

  async attempts(key: string): Promise<SubjectAttempts> {
    // Every slot of a subject has an `_id` starting `<key>#` (keys never contain '#'): a range on
    // the `_id` index, which every MongoDB-wire server keeps.
    const rows = await this.#model
      .find({ _id: { $gte: `${key}#`, $lt: `${key}$` } }, { slot: 1, at: 1 })
      .lean<AttemptDoc[]>();
    // Rows written before slots existed have none: they count, and number below every slot.
    return {
      slots: rows
        .map((r) => ({ slot: typeof r.slot === 'number' ? r.slot : -1, at: r.at }))
        .sort((a, b) => a.slot - b.slot),
    };
  }

  /** Inserts slot `slot` of `key`; false when another attempt holds it already. */
  async claim(key: string, slot: number, at: Date): Promise<boolean> {
    try {
      await this.#model.create({ _id: `${key}#${slot}`, key, slot, at });
      return true;
    } catch (err) {
      if (isDuplicateKey(err)) return false;
      throw err;
    }
  }

  /** Gives one reserved slot back (an attempt that turned out not to be a failure). */
  async release(key: string, slot: number): Promise<void> {
    await this.#model.deleteOne({ _id: `${key}#${slot}` });
  }

  async reset(key: string): Promise<void> {
    await this.#model.deleteMany({ _id: { $gte: `${key}#`, $lt: `${key}$` } });
  }

  async sweepOlderThan(cutoff: Date): Promise<void> {
    await this.#model.deleteMany({ at: { $lt: cutoff } });
  }
}
