import { randomUUID } from 'node:crypto';
import { Schema, type Connection, type Model } from 'mongoose';

export interface AuditEvent {
  id: string;
  type: string;
  outcome: 'success' | 'failure';
  at: Date;
  /** The account the event is about. */
  accountId?: string;
  /** Who acted (an admin acting for a user, a platform client), when not the account itself. */
  actorId?: string;
  organizationIds: string[];
  ip?: string;
  userAgent?: string;
  /** Non-secret facts (names, ids, methods). Never codes, keys or tokens. */
  details: Record<string, string | number | boolean>;
}

interface AuditDoc extends Omit<AuditEvent, 'id'> {
  _id: string;
}

const schema = new Schema<AuditDoc>(
  {
    _id: { type: String, required: true },
    type: { type: String, required: true },
    outcome: { type: String, required: true },
    at: { type: Date, required: true },
    accountId: String,
    actorId: String,
    organizationIds: { type: [String], default: [] },
    ip: String,
    userAgent: String,
    details: { type: Schema.Types.Mixed, default: {} },
  },
  { collection: 'audit_events', versionKey: false, minimize: false },
);

const toEvent = ({ _id, ...rest }: AuditDoc): AuditEvent => ({ id: _id, ...rest });

export class AuditRepository {
  readonly #model: Model<AuditDoc>;
  constructor(conn: Connection) {
    this.#model =
      (conn.models.AuditEvent as Model<AuditDoc>) ?? conn.model<AuditDoc>('AuditEvent', schema);
  }

  async ensureIndexes(): Promise<void> {
    await this.#model.collection.createIndex({ accountId: 1, at: -1 });
    await this.#model.collection.createIndex({ organizationIds: 1, at: -1 });
  }

  async insert(event: Omit<AuditEvent, 'id'>): Promise<AuditEvent> {
    const doc: AuditDoc = { _id: randomUUID(), ...event };
    await this.#model.create(doc);
    return toEvent(doc);
  }

  async list(
    filter: { accountId?: string; organizationId?: string; types?: string[] },
    limit: number,
    before?: Date,
  ): Promise<AuditEvent[]> {
    const q: Record<string, unknown> = {};
    if (filter.accountId) q.accountId = filter.accountId;
    if (filter.organizationId) q.organizationIds = filter.organizationId;
    if (filter.types) q.type = { $in: filter.types };
    if (before) q.at = { $lt: before };
    const docs = await this.#model.find(q).sort({ at: -1 }).limit(limit).lean<AuditDoc[]>();
    return docs.map(toEvent);
  }
}
