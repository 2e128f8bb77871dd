/**
 * Storage for oidc-provider's models: one collection per model (`oidc_session`,
 * `oidc_access_token`, …), each document keyed by the model's id. One collection per model keeps
 * the sets a lookup scans small on servers that scan (FerretDB 1.x uses no index: a storm of
 * client_credentials grants must not slow sign-ins down), and every lookup the provider makes on a
 * hot path is by `_id`, which every MongoDB-wire server indexes:
 * - find by id is the document's `_id`;
 * - find by `uid` (sessions) and by `userCode` (device codes) go through a pointer document in
 *   `oidc_lookup`, keyed `<Model>:<field>:<value>`, written when the payload is first stored.
 * The payload is stored as a JSON string because provider payloads can hold keys with dots and
 * nested arrays, which FerretDB 1.x refuses; the fields the rare filtered operations need (grantId
 * for revocation, accountId for "sign out other sessions", expiry for the sweep) are top-level.
 * Expiry is enforced on read; a TTL index removes old rows where the server supports one,
 * otherwise `sweepExpired` does, in paced batches, so a mass expiry never holds the database for long.
 */
import { Schema, type Connection, type Model } from 'mongoose';
import { createIndexBestEffort } from '../db/connect.ts';
import { isDuplicateKey } from '../store/duplicate-key.ts';

/** Where earlier versions kept every model (`<Model>:<id>`); moved over once at start-up. */
const LEGACY_COLLECTION = 'oidc_payloads';
const LOOKUP_COLLECTION = 'oidc_lookup';
/** The fields the provider finds documents by, besides their id. */
const LOOKUP_FIELDS = ['uid', 'userCode'] as const;
type LookupField = (typeof LOOKUP_FIELDS)[number];
const SWEEP_BATCH = 500;
/**
 * oidc-provider's models that Keyward's configuration stores (indexed and swept); any other the
 * provider asks for (e.g. a dynamic Client lookup) still gets its collection on first use.
 */
const MODELS = [
  'Session',
  'Interaction',
  'Grant',
  'AuthorizationCode',
  'AccessToken',
  'RefreshToken',
  'ClientCredentials',
  'DeviceCode',
  'ReplayDetection',
  'PushedAuthorizationRequest',
  'BackchannelAuthenticationRequest',
];
/**
 * Models whose documents the provider writes once, when issued: they are inserted, which a
 * server checks against its `_id` index (FerretDB 1.x too), instead of upserted, which FerretDB
 * runs as a scan of the whole collection. A re-save (rare) falls back to the upsert.
 */
const WRITE_ONCE = new Set([
  'AccessToken',
  'ClientCredentials',
  'AuthorizationCode',
  'RefreshToken',
  'ReplayDetection',
  'PushedAuthorizationRequest',
]);
/** The models whose documents belong to a grant (revoking a grant removes them). */
const GRANT_MODELS = [
  'AccessToken',
  'AuthorizationCode',
  'RefreshToken',
  'DeviceCode',
  'BackchannelAuthenticationRequest',
];

interface PayloadDoc {
  _id: string;
  grantId?: string;
  uid?: string;
  userCode?: string;
  accountId?: string;
  expiresAt?: Date;
  payload: string;
}

interface LookupDoc {
  _id: string;
  id: string;
  expiresAt?: Date;
}

const payloadSchema = (collection: string) =>
  new Schema<PayloadDoc>(
    {
      _id: { type: String, required: true },
      grantId: String,
      uid: String,
      userCode: String,
      accountId: String,
      expiresAt: Date,
      payload: { type: String, required: true },
    },
    { collection, versionKey: false },
  );

const lookupSchema = new Schema<LookupDoc>(
  {
    _id: { type: String, required: true },
    id: { type: String, required: true },
    expiresAt: Date,
  },
  { collection: LOOKUP_COLLECTION, versionKey: false },
);

/** `AccessToken` → `oidc_access_token`. */
export const collectionOf = (model: string): string =>
  `oidc_${model.replace(/(?<=[a-z0-9])([A-Z])/g, '_$1').toLowerCase()}`;

export type StoredPayload = Record<string, unknown>;

export class OidcPayloadRepository {
  readonly #conn: Connection;
  readonly #now: () => number;
  readonly #models = new Map<string, Model<PayloadDoc>>();
  readonly #lookup: Model<LookupDoc>;
  /** Pointers this process has written, with the expiry written (a later save may extend it). */
  readonly #pointed = new Map<string, number>();
  #sweep: Promise<number> | undefined;

  constructor(conn: Connection, now: () => number) {
    this.#conn = conn;
    this.#now = now;
    this.#lookup =
      (conn.models.OidcLookup as Model<LookupDoc>) ??
      conn.model<LookupDoc>('OidcLookup', lookupSchema);
  }

  #model(name: string): Model<PayloadDoc> {
    let model = this.#models.get(name);
    if (!model) {
      const modelName = `Oidc${name}`;
      model =
        (this.#conn.models[modelName] as Model<PayloadDoc>) ??
        this.#conn.model<PayloadDoc>(modelName, payloadSchema(collectionOf(name)));
      this.#models.set(name, model);
    }
    return model;
  }

  /** Creates the indexes the rare filtered operations use; answers whether TTL indexes work. */
  async ensureIndexes(): Promise<{ ttl: boolean }> {
    // A TTL index where the server has them (MongoDB), else a plain one for the sweep (FerretDB 1.x).
    let ttl: boolean | undefined;
    const expiry = async (collection: string) => {
      if (ttl !== false)
        ttl = await createIndexBestEffort(
          this.#conn,
          collection,
          { expiresAt: 1 },
          { expireAfterSeconds: 0, name: 'expiresAt_ttl' },
        );
      if (!ttl) await this.#conn.collection(collection).createIndex({ expiresAt: 1 });
    };
    for (const name of MODELS) {
      const { collection } = this.#model(name);
      if (GRANT_MODELS.includes(name)) await collection.createIndex({ grantId: 1 });
      if (name === 'Session') await collection.createIndex({ accountId: 1 });
      await expiry(collection.collectionName);
    }
    await expiry(LOOKUP_COLLECTION);
    await this.#migrateLegacy();
    return { ttl: ttl === true };
  }

  /** Moves rows from the single collection of earlier versions into their model's collection. */
  async #migrateLegacy(): Promise<void> {
    const legacy = this.#conn.collection(LEGACY_COLLECTION);
    for (;;) {
      const batch = (await legacy.find({}).limit(SWEEP_BATCH).toArray()) as unknown as ({
        _id: string;
        model: string;
      } & Omit<PayloadDoc, '_id'>)[];
      if (!batch.length) return;
      for (const { _id, model, ...doc } of batch) {
        const id = _id.slice(model.length + 1);
        const { grantId, uid, userCode, accountId, expiresAt, payload } = doc;
        await this.#model(model).replaceOne(
          { _id: id },
          { grantId, uid, userCode, accountId, expiresAt, payload },
          { upsert: true },
        );
        await this.#point(model, id, JSON.parse(doc.payload) as StoredPayload, doc.expiresAt);
      }
      await legacy.deleteMany({ _id: { $in: batch.map((d) => d._id) as never[] } });
    }
  }

  async #point(
    model: string,
    id: string,
    payload: StoredPayload,
    expiresAt: Date | undefined,
  ): Promise<void> {
    for (const field of LOOKUP_FIELDS) {
      const value = payload[field];
      if (typeof value !== 'string') continue;
      const key = `${model}:${field}:${value}`;
      const written = this.#pointed.get(`${key}>${id}`);
      const until = expiresAt?.getTime() ?? Infinity;
      if (written !== undefined && written >= until) continue;
      await this.#lookup.replaceOne(
        { _id: key },
        { id, ...(expiresAt ? { expiresAt } : {}) },
        { upsert: true },
      );
      if (this.#pointed.size > 10_000) this.#pointed.clear();
      this.#pointed.set(`${key}>${id}`, until);
    }
  }

  async upsert(
    model: string,
    id: string,
    payload: StoredPayload,
    expiresInSeconds?: number,
  ): Promise<void> {
    const expiresAt = expiresInSeconds
      ? new Date(this.#now() + expiresInSeconds * 1000)
      : undefined;
    const doc: Omit<PayloadDoc, '_id'> = {
      payload: JSON.stringify(payload),
      ...(typeof payload.grantId === 'string' ? { grantId: payload.grantId } : {}),
      ...(typeof payload.uid === 'string' ? { uid: payload.uid } : {}),
      ...(typeof payload.userCode === 'string' ? { userCode: payload.userCode } : {}),
      ...(typeof payload.accountId === 'string' ? { accountId: payload.accountId } : {}),
      ...(expiresAt ? { expiresAt } : {}),
    };
    if (!WRITE_ONCE.has(model) || !(await this.#insert(model, { _id: id, ...doc }))) {
      await this.#model(model).replaceOne({ _id: id }, doc, { upsert: true });
    }
    await this.#point(model, id, payload, expiresAt);
  }

  /** Inserts a new document; false when one with this `_id` exists already. */
  async #insert(model: string, doc: PayloadDoc): Promise<boolean> {
    try {
      await this.#model(model).collection.insertOne(doc as never);
      return true;
    } catch (err) {
      if (isDuplicateKey(err)) return false;
      throw err;
    }
  }

  #live(doc: PayloadDoc | null): StoredPayload | undefined {
    if (!doc) return undefined;
    if (doc.expiresAt && doc.expiresAt.getTime() <= this.#now()) return undefined;
    return JSON.parse(doc.payload) as StoredPayload;
  }

  async find(model: string, id: string): Promise<StoredPayload | undefined> {
    return this.#live(await this.#model(model).findById(id).lean<PayloadDoc>());
  }

  async #findBy(
    model: string,
    field: LookupField,
    value: string,
  ): Promise<StoredPayload | undefined> {
    const pointer = await this.#lookup.findById(`${model}:${field}:${value}`).lean<LookupDoc>();
    if (!pointer) return undefined;
    const payload = await this.find(model, pointer.id);
    // A pointer outlives nothing it points to: the payload must still carry the value.
    return payload && payload[field] === value ? payload : undefined;
  }

  findByUid(model: string, uid: string): Promise<StoredPayload | undefined> {
    return this.#findBy(model, 'uid', uid);
  }

  findByUserCode(model: string, userCode: string): Promise<StoredPayload | undefined> {
    return this.#findBy(model, 'userCode', userCode);
  }

  /** The stored payload even when expired (to find the grant of a replayed code or token). */
  async findRaw(model: string, id: string): Promise<StoredPayload | undefined> {
    const doc = await this.#model(model).findById(id).lean<PayloadDoc>();
    return doc ? (JSON.parse(doc.payload) as StoredPayload) : undefined;
  }

  async destroy(model: string, id: string): Promise<void> {
    await this.#model(model).deleteOne({ _id: id });
  }

  /** Removes every artefact of a grant, whatever its model. */
  async revokeByGrantId(grantId: string): Promise<void> {
    for (const name of GRANT_MODELS) await this.#model(name).deleteMany({ grantId });
  }

  /**
   * Deletes expired rows without stalling requests when 10^5 expire at once (BENCHMARKS.md,
   * "The sweeper"): one query per collection finds the expired ids (one scan where the server has
   * no index on `expiresAt`; it was one scan per batch), read SWEEP_BATCH at a time, and each batch
   * is deleted by `_id`; after each batch the sweep pauses as long as the batch took, so it takes
   * at most about half of the database's and the event loop's time. A sweep asked for while one
   * runs joins it.
   */
  sweepExpired(): Promise<number> {
    this.#sweep ??= this.#sweepExpired().finally(() => {
      this.#sweep = undefined;
    });
    return this.#sweep;
  }

  async #sweepExpired(): Promise<number> {
    let removed = 0;
    const cutoff = new Date(this.#now());
    for (const { collection } of [...MODELS.map((m) => this.#model(m)), this.#lookup]) {
      const cursor = collection.find(
        { expiresAt: { $lte: cutoff } },
        { projection: { _id: 1 }, batchSize: SWEEP_BATCH },
      );
      let ids: unknown[] = [];
      let started = performance.now();
      const deleteBatch = async () => {
        removed +=
          (await collection.deleteMany({ _id: { $in: ids as never[] } })).deletedCount ?? 0;
        ids = [];
        await new Promise((r) =>
          setTimeout(r, Math.min(1000, Math.max(1, performance.now() - started))),
        );
        started = performance.now();
      };
      try {
        for await (const doc of cursor) {
          ids.push(doc._id);
          if (ids.length >= SWEEP_BATCH) await deleteBatch();
        }
        if (ids.length) await deleteBatch();
      } finally {
        await cursor.close();
      }
    }
    return removed;
  }

  /** Ends an account's sign-in sessions, except the one with uid `exceptUid`; answers how many. */
  async deleteSessions(accountId: string, exceptUid?: string): Promise<number> {
    const filter = exceptUid ? { accountId, uid: { $ne: exceptUid } } : { accountId };
    return (await this.#model('Session').deleteMany(filter)).deletedCount ?? 0;
  }
}
