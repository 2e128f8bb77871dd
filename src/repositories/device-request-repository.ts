/**
 * What Keyward itself remembers about each device authorization request (RFC 8628) beside the
 * provider's DeviceCode: when it expires (so an expired code can be told apart from a wrong one)
 * and how fast its device polls (for `slow_down`). Codes are stored only as SHA-256 digests.
 * Rows outlive their code by a day, then `sweepExpired` removes them (no TTL indexes on FerretDB).
 */
import { createHash } from 'node:crypto';
import { Schema, type Connection, type Model } from 'mongoose';

interface DeviceRequestDoc {
  _id: string;
  userCodeDigest: string;
  clientId: string;
  expiresAt: Date;
  intervalSeconds: number;
  lastPollAt?: Date;
}

const schema = new Schema<DeviceRequestDoc>({
  _id: { type: String, required: true },
  userCodeDigest: { type: String, required: true },
  clientId: { type: String, required: true },
  expiresAt: { type: Date, required: true },
  intervalSeconds: { type: Number, required: true },
  lastPollAt: Date,
}, { collection: 'device_requests', versionKey: false });

const digest = (value: string) => createHash('sha256').update(value).digest('base64url');

/** The user code as the provider stores it (same rule as oidc-provider): ASCII upper case, word characters only. */
export const normalizeUserCode = (input: string): string => input.replace(/[a-z]/g, (c) => c.toUpperCase()).replace(/\W/g, '');

export interface DeviceRequest { clientId: string; expiresAt: Date; intervalSeconds: number; lastPollAt?: Date }

export class DeviceRequestRepository {
  readonly #model: Model<DeviceRequestDoc>;
  readonly #now: () => number;

  constructor(conn: Connection, now: () => number) {
    this.#model = conn.models.DeviceRequest as Model<DeviceRequestDoc> ?? conn.model<DeviceRequestDoc>('DeviceRequest', schema);
    this.#now = now;
  }

  async ensureIndexes(): Promise<void> {
    await this.#model.collection.createIndex({ userCodeDigest: 1 });
    await this.#model.collection.createIndex({ expiresAt: 1 });
  }

  async create(r: { deviceCode: string; userCode: string; clientId: string; expiresAt: Date; intervalSeconds: number }): Promise<void> {
    await this.#model.replaceOne({ _id: digest(r.deviceCode) }, {
      userCodeDigest: digest(normalizeUserCode(r.userCode)), clientId: r.clientId, expiresAt: r.expiresAt, intervalSeconds: r.intervalSeconds,
    }, { upsert: true });
  }

  async findByDeviceCode(deviceCode: string): Promise<DeviceRequest | undefined> {
    return this.#model.findById(digest(deviceCode)).lean<DeviceRequestDoc>().then((d) => d ?? undefined);
  }

  async findByUserCode(userCode: string): Promise<DeviceRequest | undefined> {
    const normalized = normalizeUserCode(userCode);
    if (!normalized) return undefined;
    return this.#model.findOne({ userCodeDigest: digest(normalized) }).lean<DeviceRequestDoc>().then((d) => d ?? undefined);
  }

  /** Records a poll; answers the request as it was before this poll (undefined: unknown code). */
  async recordPoll(deviceCode: string): Promise<DeviceRequest | undefined> {
    const before = await this.#model.findOneAndUpdate({ _id: digest(deviceCode) }, { $set: { lastPollAt: new Date(this.#now()) } }, { returnDocument: 'before' }).lean<DeviceRequestDoc>();
    return before ?? undefined;
  }

  /** RFC 8628 §3.5: the interval grows for this and every later request. */
  async increaseInterval(deviceCode: string, bySeconds: number): Promise<void> {
    await this.#model.updateOne({ _id: digest(deviceCode) }, { $inc: { intervalSeconds: bySeconds } });
  }

  async sweepExpired(graceMs = 86400_000): Promise<number> {
    const res = await this.#model.deleteMany({ expiresAt: { $lt: new Date(this.#now() - graceMs) } });
    return res.deletedCount ?? 0;
  }
}
