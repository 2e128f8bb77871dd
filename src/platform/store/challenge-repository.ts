/**
 * Short-lived single-use values (WebAuthn challenges, pending setups), keyed by purpose and
 * subject. Taking one is claimed with a once-marker: `findOneAndDelete` is not atomic on
 * FerretDB 1.x, so two concurrent takes could both get the value.
 */
import { createHash } from 'node:crypto';
import { Schema, type Connection, type Model } from 'mongoose';
import type { OnceClaims } from './once-marker-repository.ts';

interface ChallengeDoc {
  _id: string;
  value: string;
  expiresAt: Date;
}

const schema = new Schema<ChallengeDoc>(
  {
    _id: { type: String, required: true },
    value: { type: String, required: true },
    expiresAt: { type: Date, required: true },
  },
  { collection: 'challenges', versionKey: false },
);

export class ChallengeRepository {
  readonly #model: Model<ChallengeDoc>;
  readonly #now: () => number;
  readonly #once: OnceClaims;

  constructor(conn: Connection, now: () => number, once: OnceClaims) {
    this.#model =
      (conn.models.Challenge as Model<ChallengeDoc>) ??
      conn.model<ChallengeDoc>('Challenge', schema);
    this.#now = now;
    this.#once = once;
  }

  async put(key: string, value: string, ttlSeconds: number): Promise<void> {
    await this.#model.replaceOne(
      { _id: key },
      { value, expiresAt: new Date(this.#now() + ttlSeconds * 1000) },
      { upsert: true },
    );
  }

  /** Takes the value (single use); undefined when absent or expired. */
  async take(key: string): Promise<string | undefined> {
    const doc = await this.#model.findById(key).lean<ChallengeDoc>();
    if (!doc || doc.expiresAt.getTime() <= this.#now()) return undefined;
    const taken = createHash('sha256').update(`${key}\0${doc.value}`).digest('base64url');
    if (!(await this.#once.claim(`challenge:${taken}`, doc.expiresAt))) return undefined;
    await this.#model.deleteOne({ _id: key, value: doc.value });
    return doc.value;
  }

  /** Reads without consuming. */
  async peek(key: string): Promise<string | undefined> {
    const doc = await this.#model.findById(key).lean<ChallengeDoc>();
    return doc && doc.expiresAt.getTime() > this.#now() ? doc.value : undefined;
  }

  async sweepExpired(): Promise<void> {
    await this.#model.deleteMany({ expiresAt: { $lte: new Date(this.#now()) } });
  }
}
