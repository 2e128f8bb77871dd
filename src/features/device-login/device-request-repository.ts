/**
 * What Keyward itself remembers about each device authorization request (RFC 8628) beside the
 * provider's DeviceCode: when it expires (so an expired code can be told apart from a wrong one)
 * and how fast its device polls (for `slow_down`). Codes are stored only as SHA-256 digests.
 * Rows outlive their code by a day, then `sweepExpired` removes them (no TTL indexes on FerretDB).
 */
import { createHash, randomUUID } from 'node:crypto';
import { Schema, type Connection, type Model } from 'mongoose';

interface DeviceRequestDoc {
  _id: string;
  userCodeDigest: string;
  clientId: string;
  expiresAt: Date;
  intervalSeconds: number;
  lastPollAt?: Date;
}

/**
 * One row per `slow_down` answered (RFC 8628 §3.5: +5 s each): counting inserted rows stays exact
 * when polls race, where `$inc` on FerretDB 1.x can lose increments.
 */
interface SlowDownDoc {
  _id: string;
  request: string;
  expiresAt: Date;
}

const schema = new Schema<DeviceRequestDoc>(
  {
    _id: { type: String, required: true },
    userCodeDigest: { type: String, required: true },
    clientId: { type: String, required: true },
    expiresAt: { type: Date, required: true },
    intervalSeconds: { type: Number, required: true },
    lastPollAt: Date,
  },
  { collection: 'device_requests', versionKey: false },
);

const slowDownSchema = new Schema<SlowDownDoc>(
  {
    _id: { type: String, required: true },
    request: { type: String, required: true },
    expiresAt: { type: Date, required: true },
  },
  { collection: 'device_slow_downs', versionKey: false },
);

export const SLOW_DOWN_STEP_SECONDS = 5;

const digest = (value: string) => createHash('sha256').update(value).digest('base64url');

/** The user code as the provider stores it (same rule as oidc-provider): ASCII upper case, word characters only. */
export const normalizeUserCode = (input: string): string =>
  input.replace(/[a-z]/g, (c) => c.toUpperCase()).replace(/\W/g, '');

export interface DeviceRequest {
  clientId: string;
  expiresAt: Date;
  intervalSeconds: number;
  lastPollAt?: Date;
}

/** The key a request is stored under (a digest of its device code), e.g. for once-markers. */
export const deviceRequestKey = digest;

export class DeviceRequestRepository {
  readonly #model: Model<DeviceRequestDoc>;
  readonly #slowDowns: Model<SlowDownDoc>;
  readonly #now: () => number;

  constructor(conn: Connection, now: () => number) {
    this.#model =
      (conn.models.DeviceRequest as Model<DeviceRequestDoc>) ??
      conn.model<DeviceRequestDoc>('DeviceRequest', schema);
    this.#slowDowns =
      (conn.models.DeviceSlowDown as Model<SlowDownDoc>) ??
      conn.model<SlowDownDoc>('DeviceSlowDown', slowDownSchema);
    this.#now = now;
  }

  async ensureIndexes(): Promise<void> {
    await this.#model.collection.createIndex({ userCodeDigest: 1 });
    await this.#model.collection.createIndex({ expiresAt: 1 });
  }

  async create(r: {
    deviceCode: string;
    userCode: string;
    clientId: string;
    expiresAt: Date;
    intervalSeconds: number;
  }): Promise<void> {
    await this.#model.replaceOne(
      { _id: digest(r.deviceCode) },
      {
        userCodeDigest: digest(normalizeUserCode(r.userCode)),
        clientId: r.clientId,
        expiresAt: r.expiresAt,
        intervalSeconds: r.intervalSeconds,
      },
      { upsert: true },
    );
  }

  async findByDeviceCode(deviceCode: string): Promise<DeviceRequest | undefined> {
    return this.#model
      .findById(digest(deviceCode))
      .lean<DeviceRequestDoc>()
      .then((d) => d ?? undefined);
  }

  async findByUserCode(userCode: string): Promise<DeviceRequest | undefined> {
    const normalized = normalizeUserCode(userCode);
    if (!normalized) return undefined;
    return this.#model
      .findOne({ userCodeDigest: digest(normalized) })
      .lean<DeviceRequestDoc>()
      .then((d) => d ?? undefined);
  }

  /** The request with its current interval (the initial one plus every slow_down since). */
  async forPoll(deviceCode: string): Promise<DeviceRequest | undefined> {
    const [request, slowDowns] = await Promise.all([
      this.#model.findById(digest(deviceCode)).lean<DeviceRequestDoc>(),
      this.#slowDowns.countDocuments({ request: digest(deviceCode) }),
    ]);
    return request
      ? {
          ...request,
          intervalSeconds: request.intervalSeconds + slowDowns * SLOW_DOWN_STEP_SECONDS,
        }
      : undefined;
  }

  async recordPoll(deviceCode: string, at: Date): Promise<void> {
    await this.#model.updateOne({ _id: digest(deviceCode) }, { $set: { lastPollAt: at } });
  }

  /** RFC 8628 §3.5: the interval grows by 5 s for this and every later request. */
  async slowDown(deviceCode: string, expiresAt: Date): Promise<void> {
    await this.#slowDowns.create({ _id: randomUUID(), request: digest(deviceCode), expiresAt });
  }

  async sweepExpired(graceMs = 86400_000): Promise<number> {
    const cutoff = new Date(this.#now() - graceMs);
    await this.#slowDowns.deleteMany({ expiresAt: { $lt: cutoff } });
    const res = await this.#model.deleteMany({ expiresAt: { $lt: cutoff } });
    return res.deletedCount ?? 0;
  }
}
