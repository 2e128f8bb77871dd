import { Schema, type Connection, type Model } from 'mongoose';
import { NO_READ_CACHE, type ReadThrough } from '../store/read-through.ts';

/** Policy values per scope: `platform` or `org:<organizationId>`. Absent row = Not set. */
interface PolicyDoc {
  _id: string;
  scope: string;
  name: string;
  value: unknown;
  updatedAt: Date;
  updatedBy?: string;
}

const schema = new Schema<PolicyDoc>(
  {
    _id: { type: String, required: true },
    scope: { type: String, required: true },
    name: { type: String, required: true },
    value: { type: Schema.Types.Mixed },
    updatedAt: { type: Date, required: true },
    updatedBy: String,
  },
  { collection: 'policies', versionKey: false, minimize: false },
);

export interface StoredPolicy {
  scope: string;
  name: string;
  value: unknown;
  updatedAt: Date;
  updatedBy?: string;
}

export class PolicyRepository {
  readonly #model: Model<PolicyDoc>;
  readonly #now: () => number;
  readonly #cache: ReadThrough;

  constructor(conn: Connection, now: () => number, cache: ReadThrough = NO_READ_CACHE) {
    this.#model =
      (conn.models.Policy as Model<PolicyDoc>) ?? conn.model<PolicyDoc>('Policy', schema);
    this.#now = now;
    this.#cache = cache;
  }

  async ensureIndexes(): Promise<void> {
    await this.#model.collection.createIndex({ scope: 1 });
  }

  async list(scopes: string[]): Promise<StoredPolicy[]> {
    return this.#cache.read(`policies:${scopes.join('|')}`, async () => {
      const docs = await this.#model.find({ scope: { $in: scopes } }).lean<PolicyDoc[]>();
      return docs.map(({ _id: _, ...rest }) => rest);
    });
  }

  async set(scope: string, name: string, value: unknown, updatedBy?: string): Promise<void> {
    await this.#model.replaceOne(
      { _id: `${scope}:${name}` },
      { scope, name, value, updatedAt: new Date(this.#now()), updatedBy },
      { upsert: true },
    );
    await this.#cache.changed();
  }

  async clear(scope: string, name: string): Promise<boolean> {
    const removed = (await this.#model.deleteOne({ _id: `${scope}:${name}` })).deletedCount === 1;
    await this.#cache.changed();
    return removed;
  }
}
