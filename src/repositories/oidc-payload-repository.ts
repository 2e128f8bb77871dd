/**
 * Storage for every oidc-provider model in one collection, `oidc_payloads`, keyed
 * `<Model>:<id>`. The fields the provider looks things up by (grantId, userCode, uid) and the
 * expiry are top-level and indexed; the payload itself is stored as a JSON string because
 * provider payloads can hold keys with dots and nested arrays, which FerretDB 1.x refuses.
 * Expiry is enforced on read; a TTL index removes old rows where the server supports one,
 * otherwise `sweepExpired` does.
 */
import { Schema, type Connection, type Model } from 'mongoose';
import { createIndexBestEffort } from '../db/connect.ts';

export const OIDC_COLLECTION = 'oidc_payloads';

interface PayloadDoc {
  _id: string;
  model: string;
  grantId?: string;
  userCode?: string;
  uid?: string;
  accountId?: string;
  expiresAt?: Date;
  /** Written by earlier versions; consumption is now a once-marker (see adapter.ts). */
  consumedAt?: number;
  payload: string;
}

const schema = new Schema<PayloadDoc>({
  _id: { type: String, required: true },
  model: { type: String, required: true },
  grantId: String,
  userCode: String,
  uid: String,
  accountId: String,
  expiresAt: Date,
  consumedAt: Number,
  payload: { type: String, required: true },
}, { collection: OIDC_COLLECTION, versionKey: false });

export type StoredPayload = Record<string, unknown>;

export class OidcPayloadRepository {
  readonly #model: Model<PayloadDoc>;
  readonly #now: () => number;

  constructor(conn: Connection, now: () => number) {
    this.#model = conn.models.OidcPayload as Model<PayloadDoc> ?? conn.model<PayloadDoc>('OidcPayload', schema);
    this.#now = now;
  }

  /** Creates the lookup indexes; answers whether a TTL index could be created. */
  async ensureIndexes(): Promise<{ ttl: boolean }> {
    const conn = this.#model.db;
    await conn.collection(OIDC_COLLECTION).createIndex({ model: 1, grantId: 1 });
    await conn.collection(OIDC_COLLECTION).createIndex({ model: 1, userCode: 1 });
    await conn.collection(OIDC_COLLECTION).createIndex({ model: 1, uid: 1 });
    await conn.collection(OIDC_COLLECTION).createIndex({ model: 1, accountId: 1 });
    await conn.collection(OIDC_COLLECTION).createIndex({ expiresAt: 1 });
    const ttl = await createIndexBestEffort(conn, OIDC_COLLECTION, { expiresAt: 1 }, { expireAfterSeconds: 0, name: 'expiresAt_ttl' });
    return { ttl };
  }

  async upsert(model: string, id: string, payload: StoredPayload, expiresInSeconds?: number): Promise<void> {
    const doc: Omit<PayloadDoc, '_id'> = {
      model,
      payload: JSON.stringify(payload),
      ...(typeof payload.grantId === 'string' ? { grantId: payload.grantId } : {}),
      ...(typeof payload.userCode === 'string' ? { userCode: payload.userCode } : {}),
      ...(typeof payload.uid === 'string' ? { uid: payload.uid } : {}),
      ...(typeof payload.accountId === 'string' ? { accountId: payload.accountId } : {}),
      ...(expiresInSeconds ? { expiresAt: new Date(this.#now() + expiresInSeconds * 1000) } : {}),
    };
    await this.#model.replaceOne({ _id: `${model}:${id}` }, doc, { upsert: true });
  }

  #live(doc: PayloadDoc | null): StoredPayload | undefined {
    if (!doc) return undefined;
    if (doc.expiresAt && doc.expiresAt.getTime() <= this.#now()) return undefined;
    const payload = JSON.parse(doc.payload) as StoredPayload;
    return doc.consumedAt ? { ...payload, consumed: doc.consumedAt } : payload;
  }

  async find(model: string, id: string): Promise<StoredPayload | undefined> {
    return this.#live(await this.#model.findById(`${model}:${id}`).lean<PayloadDoc>());
  }

  async findByUid(model: string, uid: string): Promise<StoredPayload | undefined> {
    return this.#live(await this.#model.findOne({ model, uid }).lean<PayloadDoc>());
  }

  async findByUserCode(model: string, userCode: string): Promise<StoredPayload | undefined> {
    return this.#live(await this.#model.findOne({ model, userCode }).lean<PayloadDoc>());
  }

  /** The stored payload even when expired (to find the grant of a replayed code or token). */
  async findRaw(model: string, id: string): Promise<StoredPayload | undefined> {
    const doc = await this.#model.findById(`${model}:${id}`).lean<PayloadDoc>();
    return doc ? JSON.parse(doc.payload) as StoredPayload : undefined;
  }

  async destroy(model: string, id: string): Promise<void> {
    await this.#model.deleteOne({ _id: `${model}:${id}` });
  }

  /** Removes every artefact of a grant, whatever its model. */
  async revokeByGrantId(grantId: string): Promise<void> {
    await this.#model.deleteMany({ grantId });
  }

  async sweepExpired(): Promise<number> {
    const res = await this.#model.deleteMany({ expiresAt: { $lte: new Date(this.#now()) } });
    return res.deletedCount ?? 0;
  }

  /** Ends an account's sign-in sessions, except the one with uid `exceptUid`; answers how many. */
  async deleteSessions(accountId: string, exceptUid?: string): Promise<number> {
    const filter = exceptUid ? { model: 'Session', accountId, uid: { $ne: exceptUid } } : { model: 'Session', accountId };
    return (await this.#model.deleteMany(filter)).deletedCount ?? 0;
  }
}
