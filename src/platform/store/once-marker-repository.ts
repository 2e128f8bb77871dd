/**
 * "Exactly once" for one-time values (authorization codes, refresh tokens, device codes, TOTP
 * steps, recovery codes, WebAuthn challenges, DPoP proof ids, throttle slots): a marker document
 * whose `_id` is the thing consumed. Inserting it is the only write both servers Keyward supports
 * make atomic with its check: MongoDB and FerretDB 1.x both refuse a second insert of one `_id`
 * with a duplicate-key error, while FerretDB runs a conditional update's query and write
 * separately (FerretDB issue #3040), so "update where unused" lets several callers win there.
 * Markers outlive the value they guard and are then swept.
 */
import { Schema, type Connection, type Model } from 'mongoose';
import { isDuplicateKey } from './duplicate-key.ts';

interface MarkerDoc {
  _id: string;
  expiresAt: Date;
}

const schema = new Schema<MarkerDoc>(
  {
    _id: { type: String, required: true },
    expiresAt: { type: Date, required: true },
  },
  { collection: 'once_markers', versionKey: false },
);

/** What services depend on: claim a key once; the first caller gets true, every later one false. */
export interface OnceClaims {
  claim(key: string, expiresAt: Date): Promise<boolean>;
}

export class OnceMarkerRepository implements OnceClaims {
  readonly #model: Model<MarkerDoc>;
  readonly #now: () => number;

  constructor(conn: Connection, now: () => number) {
    this.#model =
      (conn.models.OnceMarker as Model<MarkerDoc>) ?? conn.model<MarkerDoc>('OnceMarker', schema);
    this.#now = now;
  }

  /** Inserts the marker; answers false when it already exists (claimed before, by anyone). */
  async claim(key: string, expiresAt: Date): Promise<boolean> {
    try {
      await this.#model.create({ _id: key, expiresAt });
      return true;
    } catch (err) {
      if (isDuplicateKey(err)) return false;
      throw err;
    }
  }

  /** Forgets a claim (a reservation given back); only for keys whose owner holds the claim. */
  async release(key: string): Promise<void> {
    await this.#model.deleteOne({ _id: key });
  }

  async sweepExpired(): Promise<number> {
    return (
      (await this.#model.deleteMany({ expiresAt: { $lte: new Date(this.#now()) } })).deletedCount ??
      0
    );
  }
}
