/**
 * One row per OIDC grant a user gave a client (`_id` = the provider's grant id), so Keyward can
 * list "connected apps" and, for the CLI, each signed-in device. The provider keeps the grant and
 * its tokens; this row only adds what a person needs to recognise it: the device name, when it
 * was first and last used, and from where. `deviceId` is a random public handle (the grant id
 * stays internal). Rows whose grant is gone are removed when noticed.
 */
import { randomBytes } from 'node:crypto';
import { Schema, type Connection, type Model } from 'mongoose';
import { upsertRetryingRace } from '../../platform/store/duplicate-key.ts';

export interface AppConnection {
  grantId: string;
  deviceId: string;
  accountId: string;
  clientId: string;
  deviceName?: string;
  createdAt: Date;
  lastSeenAt?: Date;
  lastIp?: string;
  userAgent?: string;
}

/** Stored with the grant id as `_id`. */
type ConnectionDoc = Omit<AppConnection, 'grantId'> & { _id: string };

const schema = new Schema<ConnectionDoc>(
  {
    _id: { type: String, required: true },
    deviceId: { type: String, required: true },
    accountId: { type: String, required: true },
    clientId: { type: String, required: true },
    deviceName: String,
    createdAt: { type: Date, required: true },
    lastSeenAt: Date,
    lastIp: String,
    userAgent: String,
  },
  { collection: 'oidc_connections', versionKey: false },
);

const toConnection = ({ _id, ...rest }: ConnectionDoc): AppConnection => ({
  grantId: _id,
  ...rest,
});

export class ConnectedAppRepository {
  readonly #model: Model<ConnectionDoc>;
  readonly #now: () => number;

  constructor(conn: Connection, now: () => number) {
    this.#model =
      (conn.models.AppConnection as Model<ConnectionDoc>) ??
      conn.model<ConnectionDoc>('AppConnection', schema);
    this.#now = now;
  }

  async ensureIndexes(): Promise<void> {
    await this.#model.collection.createIndex({ accountId: 1, clientId: 1 });
    await this.#model.collection.createIndex({ deviceId: 1 }, { unique: true });
  }

  #insertOnly(grant: { accountId: string; clientId: string }) {
    return {
      deviceId: randomBytes(12).toString('base64url'),
      accountId: grant.accountId,
      clientId: grant.clientId,
      createdAt: new Date(this.#now()),
    };
  }

  /** A grant was created or extended (idempotent). */
  async noteGrant(grant: { grantId: string; accountId: string; clientId: string }): Promise<void> {
    await upsertRetryingRace(() =>
      this.#model.updateOne(
        { _id: grant.grantId },
        { $setOnInsert: this.#insertOnly(grant) },
        { upsert: true },
      ),
    );
  }

  /** Tokens were issued from the grant: remember when, from where, and the device's name if given. */
  async noteUse(use: {
    grantId: string;
    accountId: string;
    clientId: string;
    ip?: string;
    userAgent?: string;
    deviceName?: string;
  }): Promise<void> {
    const set: Partial<ConnectionDoc> = { lastSeenAt: new Date(this.#now()) };
    if (use.ip) set.lastIp = use.ip;
    if (use.userAgent) set.userAgent = use.userAgent.slice(0, 300);
    if (use.deviceName) set.deviceName = use.deviceName;
    await upsertRetryingRace(() =>
      this.#model.updateOne(
        { _id: use.grantId },
        { $set: set, $setOnInsert: this.#insertOnly(use) },
        { upsert: true },
      ),
    );
  }

  async listForAccount(accountId: string, limit = 500): Promise<AppConnection[]> {
    const docs = await this.#model
      .find({ accountId })
      .sort({ createdAt: 1 })
      .limit(limit)
      .lean<ConnectionDoc[]>();
    return docs.map(toConnection);
  }

  async findDevice(
    accountId: string,
    clientId: string,
    deviceId: string,
  ): Promise<AppConnection | undefined> {
    const doc = await this.#model.findOne({ accountId, clientId, deviceId }).lean<ConnectionDoc>();
    return doc ? toConnection(doc) : undefined;
  }

  async remove(grantId: string): Promise<void> {
    await this.#model.deleteOne({ _id: grantId });
  }
}
