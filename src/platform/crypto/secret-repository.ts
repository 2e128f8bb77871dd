import { Schema, type Connection, type Model } from 'mongoose';
import { isDuplicateKey } from '../store/duplicate-key.ts';

/** Named server secrets (signing keys, cookie keys), stored as sealed envelopes or public values. */
interface SecretDoc {
  _id: string;
  value: Record<string, unknown>;
  createdAt: Date;
}

const schema = new Schema<SecretDoc>(
  {
    _id: { type: String, required: true },
    value: { type: Schema.Types.Mixed, required: true },
    createdAt: { type: Date, required: true },
  },
  { collection: 'server_secrets', versionKey: false },
);

export class SecretRepository {
  readonly #model: Model<SecretDoc>;

  constructor(conn: Connection) {
    this.#model =
      (conn.models.ServerSecret as Model<SecretDoc>) ??
      conn.model<SecretDoc>('ServerSecret', schema);
  }

  async get(name: string): Promise<Record<string, unknown> | undefined> {
    return (await this.#model.findById(name).lean<SecretDoc>())?.value;
  }

  /**
   * Stores `value` under `name` unless one is already there, and answers whichever is stored:
   * two instances starting at once agree on one value.
   */
  async putIfAbsent(
    name: string,
    value: Record<string, unknown>,
  ): Promise<Record<string, unknown>> {
    try {
      await this.#model.create({ _id: name, value, createdAt: new Date() });
      return value;
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
      return (await this.get(name))!;
    }
  }

  async replace(name: string, value: Record<string, unknown>): Promise<void> {
    await this.#model.updateOne({ _id: name }, { $set: { value } });
  }

  async list(): Promise<{ name: string; value: Record<string, unknown> }[]> {
    return (await this.#model.find().lean<SecretDoc[]>()).map((d) => ({
      name: d._id,
      value: d.value,
    }));
  }
}
