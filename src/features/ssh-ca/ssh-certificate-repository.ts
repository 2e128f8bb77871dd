import { Schema, type Connection, type Model } from 'mongoose';
import { isDuplicateKey } from '../../platform/store/duplicate-key.ts';

/**
 * The record of every SSH certificate Keyward issued (never the certificate's private half —
 * there is none — nor any secret): who, for which key, which principals, when valid, by which
 * CA key, and whether it was revoked. Serials come from one counter, so they are unique across
 * CA keys and start at 1 (OpenSSH cannot revoke serial 0 by serial).
 */
export interface SshCertificateRecord {
  serial: number;
  caKeyId: string;
  caFingerprint: string;
  accountId: string;
  username: string;
  /** The owner's organizations at issuance (their admins may list and revoke it). */
  organizationIds: string[];
  keyId: string;
  principals: string[];
  extensions: string[];
  sourceAddress?: string;
  validAfter: Date;
  validBefore: Date;
  keyType: string;
  fingerprint: string;
  /** How the caller authenticated (session, apikey, token, oauth). */
  via: string;
  createdAt: Date;
  revoked: boolean;
  revokedAt?: Date;
  revokedBy?: string;
}

interface SshCertificateDoc extends SshCertificateRecord {
  _id: string;
}

const schema = new Schema<SshCertificateDoc>(
  {
    _id: { type: String, required: true },
    serial: { type: Number, required: true },
    caKeyId: { type: String, required: true },
    caFingerprint: { type: String, required: true },
    accountId: { type: String, required: true },
    username: { type: String, required: true },
    organizationIds: { type: [String], default: [] },
    keyId: { type: String, required: true },
    principals: { type: [String], required: true },
    extensions: { type: [String], default: [] },
    sourceAddress: String,
    validAfter: { type: Date, required: true },
    validBefore: { type: Date, required: true },
    keyType: { type: String, required: true },
    fingerprint: { type: String, required: true },
    via: { type: String, required: true },
    createdAt: { type: Date, required: true },
    revoked: { type: Boolean, default: false },
    revokedAt: Date,
    revokedBy: String,
  },
  { collection: 'ssh_certificates', versionKey: false },
);

interface CounterDoc {
  _id: string;
  value: number;
}
const counterSchema = new Schema<CounterDoc>(
  { _id: { type: String, required: true }, value: { type: Number, required: true } },
  { collection: 'ssh_certificate_counters', versionKey: false },
);

const toRecord = ({ _id: _i, ...rest }: SshCertificateDoc): SshCertificateRecord => rest;

export type NewSshCertificate = Omit<
  SshCertificateRecord,
  'createdAt' | 'revoked' | 'revokedAt' | 'revokedBy'
>;

export class SshCertificateRepository {
  readonly #model: Model<SshCertificateDoc>;
  readonly #counters: Model<CounterDoc>;
  readonly #now: () => number;

  constructor(conn: Connection, now: () => number) {
    this.#model =
      (conn.models.SshCertificate as Model<SshCertificateDoc>) ??
      conn.model<SshCertificateDoc>('SshCertificate', schema);
    this.#counters =
      (conn.models.SshCertificateCounter as Model<CounterDoc>) ??
      conn.model<CounterDoc>('SshCertificateCounter', counterSchema);
    this.#now = now;
  }

  async ensureIndexes(): Promise<void> {
    const c = this.#model.collection;
    await c.createIndex({ serial: 1 }, { unique: true });
    await c.createIndex({ accountId: 1, serial: -1 });
    await c.createIndex({ organizationIds: 1, serial: -1 });
    await c.createIndex({ revoked: 1, validBefore: 1 });
  }

  /**
   * The next serial (1, 2, …) from a counter. The counter is a hint, not the arbiter: FerretDB
   * does not make concurrent `$inc` through findOneAndUpdate atomic, so two callers can get the
   * same value. The unique serial index decides (see `insert`). Two first upserts racing on the
   * missing counter make one fail with a duplicate key; it retries.
   */
  async nextSerial(): Promise<number> {
    for (let attempt = 0; ; attempt++) {
      try {
        const doc = await this.#counters
          .findOneAndUpdate(
            { _id: 'serial' },
            { $inc: { value: 1 } },
            { upsert: true, returnDocument: 'after' },
          )
          .lean<CounterDoc>();
        return doc!.value;
      } catch (err) {
        if (!isDuplicateKey(err) || attempt >= 3) throw err;
      }
    }
  }

  /** Stores the record; undefined when its serial is already taken (allocate another and retry). */
  async insert(input: NewSshCertificate): Promise<SshCertificateRecord | undefined> {
    const doc: SshCertificateDoc = {
      _id: String(input.serial),
      ...input,
      createdAt: new Date(this.#now()),
      revoked: false,
    };
    if (doc.sourceAddress === undefined) delete doc.sourceAddress;
    try {
      await this.#model.create(doc);
    } catch (err) {
      if (isDuplicateKey(err)) return undefined;
      throw err;
    }
    return toRecord(doc);
  }

  async findBySerial(serial: number): Promise<SshCertificateRecord | undefined> {
    const doc = await this.#model.findOne({ serial }).lean<SshCertificateDoc>();
    return doc ? toRecord(doc) : undefined;
  }

  /** Newest first; `beforeSerial` pages back. */
  async listByAccount(
    accountId: string,
    limit: number,
    beforeSerial?: number,
  ): Promise<SshCertificateRecord[]> {
    const filter = beforeSerial ? { accountId, serial: { $lt: beforeSerial } } : { accountId };
    return (
      await this.#model.find(filter).sort({ serial: -1 }).limit(limit).lean<SshCertificateDoc[]>()
    ).map(toRecord);
  }

  async listByOrganization(
    organizationId: string,
    limit: number,
    beforeSerial?: number,
  ): Promise<SshCertificateRecord[]> {
    const filter = beforeSerial
      ? { organizationIds: organizationId, serial: { $lt: beforeSerial } }
      : { organizationIds: organizationId };
    return (
      await this.#model.find(filter).sort({ serial: -1 }).limit(limit).lean<SshCertificateDoc[]>()
    ).map(toRecord);
  }

  /** Marks a certificate revoked once; answers the record as it is now (undefined if unknown). */
  async revoke(
    serial: number,
    by: string,
  ): Promise<{ record: SshCertificateRecord; changed: boolean } | undefined> {
    const res = await this.#model.updateOne(
      { serial, revoked: false },
      { $set: { revoked: true, revokedAt: new Date(this.#now()), revokedBy: by } },
    );
    const record = await this.findBySerial(serial);
    return record ? { record, changed: res.modifiedCount === 1 } : undefined;
  }

  /** Revoked certificates still valid after `after` (expired ones need no KRL entry). */
  async revokedValidAfter(
    after: Date,
  ): Promise<Pick<SshCertificateRecord, 'serial' | 'caKeyId'>[]> {
    return this.#model
      .find({ revoked: true, validBefore: { $gt: after } }, { _id: 0, serial: 1, caKeyId: 1 })
      .lean<Pick<SshCertificateRecord, 'serial' | 'caKeyId'>[]>();
  }
}
