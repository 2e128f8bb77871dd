/** Short-lived single-use values (WebAuthn challenges, pending setups), keyed by purpose and subject. */
import { Schema, type Connection, type Model } from 'mongoose';

interface ChallengeDoc { _id: string; value: string; expiresAt: Date }

const schema = new Schema<ChallengeDoc>({
  _id: { type: String, required: true },
  value: { type: String, required: true },
  expiresAt: { type: Date, required: true },
}, { collection: 'challenges', versionKey: false });

export class ChallengeRepository {
  readonly #model: Model<ChallengeDoc>;
  readonly #now: () => number;

  constructor(conn: Connection, now: () => number) {
    this.#model = conn.models.Challenge as Model<ChallengeDoc> ?? conn.model<ChallengeDoc>('Challenge', schema);
    this.#now = now;
  }

  async put(key: string, value: string, ttlSeconds: number): Promise<void> {
    await this.#model.replaceOne({ _id: key }, { value, expiresAt: new Date(this.#now() + ttlSeconds * 1000) }, { upsert: true });
  }

  /** Takes the value (single use); undefined when absent or expired. */
  async take(key: string): Promise<string | undefined> {
    const doc = await this.#model.findOneAndDelete({ _id: key }).lean<ChallengeDoc>();
    return doc && doc.expiresAt.getTime() > this.#now() ? doc.value : undefined;
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
