import { Schema, type Connection, type Model } from 'mongoose';
import { upsertRetryingRace } from './duplicate-key.ts';

/**
 * One row per signal name; its `token` is replaced by a fresh random value whenever something the
 * signal covers changes. Readers compare tokens, so a plain replace is enough: no counter, no
 * atomic increment (which FerretDB 1.x does not make atomic anyway).
 */
interface SignalDoc {
  _id: string;
  token: string;
  changedAt: Date;
}

const schema = new Schema<SignalDoc>(
  {
    _id: { type: String, required: true },
    token: { type: String, required: true },
    changedAt: { type: Date, required: true },
  },
  { collection: 'change_signals', versionKey: false },
);

export class ChangeSignalRepository {
  readonly #model: Model<SignalDoc>;

  constructor(conn: Connection) {
    this.#model =
      (conn.models.ChangeSignal as Model<SignalDoc>) ??
      conn.model<SignalDoc>('ChangeSignal', schema);
  }

  /** The current token of `name` ('' when it never changed). One primary-key read. */
  async read(name: string): Promise<string> {
    const doc = await this.#model.findById(name, { token: 1 }).lean<Pick<SignalDoc, 'token'>>();
    return doc?.token ?? '';
  }

  /** Stores a new token (two first writers may race to create the row: see upsertRetryingRace). */
  async write(name: string, token: string, changedAt: Date): Promise<void> {
    await upsertRetryingRace(() =>
      this.#model.replaceOne({ _id: name }, { token, changedAt }, { upsert: true }),
    );
  }
}
