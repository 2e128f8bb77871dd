/**
 * Storage of an organization's sign-in methods, the links from an external identity (method,
 * external id) to a Keyward account, and the short-lived state of a federated sign-in in progress.
 * A link's `_id` is `<methodId>:<externalId>`, so creating one is an atomic unique insert (the
 * only atomic write FerretDB 1.x offers) and finding one is an `_id` lookup.
 */
import { Schema, type Connection, type Model } from 'mongoose';
import type { Sealed } from '../../platform/crypto/envelope.ts';
import { conflictOnDuplicate, isDuplicateKey } from '../../platform/store/duplicate-key.ts';

export type MethodType = 'password' | 'oidc' | 'ldap';
export type SecretField = 'clientSecret' | 'privateKeyPEM' | 'bindPassword';

export interface StoredMethod {
  id: string;
  organizationId: string;
  type: MethodType;
  name: string;
  displayName?: string;
  /** The non-secret settings (the `Oidc` or `Ldap` fields but the secrets). */
  settings: Record<string, unknown>;
  /** Secrets, each sealed with AAD `sign-in-method:<organizationId>:<id>:<field>`. */
  sealed: Partial<Record<SecretField, Sealed>>;
  createdAt: Date;
  updatedAt: Date;
}

export interface ExternalIdentity {
  methodId: string;
  externalId: string;
  accountId: string;
  organizationId: string;
  createdAt: Date;
  /** Who linked it: an admin's account id, or absent for a link made at first sign-in. */
  createdBy?: string;
}

/** A sign-in sent to the upstream IdP and not yet back (keyed by the `state` value). */
export interface SsoTransaction {
  id: string;
  methodId: string;
  /** The oidc-provider interaction it belongs to. */
  interactionUid: string;
  /** sha256 of the browser binding cookie's value. */
  browserHash: string;
  codeVerifier: string;
  nonce: string;
  expiresAt: Date;
  /** Set by the callback: the account signed in, the amr/acr to record, and the upstream's own acr and amr. */
  result?: {
    accountId: string;
    amr: string[];
    acr: string;
    upstream?: { acr?: string; amr: string[] };
  };
}

/** What the upstream IdP said about a federated sign-in, kept while the session may last (keyed `<accountId>:<authTime>`). */
export interface UpstreamSignIn {
  acr?: string;
  amr: string[];
  methodId: string;
  expiresAt: Date;
}

interface MethodDoc extends Omit<StoredMethod, 'id'> {
  _id: string;
}
interface UpstreamDoc extends UpstreamSignIn {
  _id: string;
}
interface LinkDoc extends ExternalIdentity {
  _id: string;
}
interface TxDoc extends Omit<SsoTransaction, 'id'> {
  _id: string;
}

const methodSchema = new Schema<MethodDoc>(
  {
    _id: { type: String, required: true },
    organizationId: { type: String, required: true },
    type: { type: String, required: true },
    name: { type: String, required: true },
    displayName: String,
    settings: { type: Schema.Types.Mixed, default: {} },
    sealed: { type: Schema.Types.Mixed, default: {} },
    createdAt: { type: Date, required: true },
    updatedAt: { type: Date, required: true },
  },
  { collection: 'sign_in_methods', versionKey: false, minimize: false },
);

const linkSchema = new Schema<LinkDoc>(
  {
    _id: { type: String, required: true },
    methodId: { type: String, required: true },
    externalId: { type: String, required: true },
    accountId: { type: String, required: true },
    organizationId: { type: String, required: true },
    createdAt: { type: Date, required: true },
    createdBy: String,
  },
  { collection: 'external_identities', versionKey: false },
);

const txSchema = new Schema<TxDoc>(
  {
    _id: { type: String, required: true },
    methodId: { type: String, required: true },
    interactionUid: { type: String, required: true },
    browserHash: { type: String, required: true },
    codeVerifier: { type: String, required: true },
    nonce: { type: String, required: true },
    expiresAt: { type: Date, required: true },
    result: { type: Schema.Types.Mixed },
  },
  { collection: 'sso_transactions', versionKey: false },
);

const upstreamSchema = new Schema<UpstreamDoc>(
  {
    _id: { type: String, required: true },
    acr: String,
    amr: { type: [String], default: [] },
    methodId: { type: String, required: true },
    expiresAt: { type: Date, required: true },
  },
  { collection: 'upstream_sign_ins', versionKey: false },
);

const toMethod = ({ _id, ...rest }: MethodDoc): StoredMethod => ({
  ...rest,
  id: _id,
  settings: rest.settings ?? {},
  sealed: rest.sealed ?? {},
});
const toLink = ({ _id: _i, ...rest }: LinkDoc): ExternalIdentity => rest;
const linkId = (methodId: string, externalId: string) => `${methodId}:${externalId}`;

export class SignInMethodRepository {
  readonly #methods: Model<MethodDoc>;
  readonly #links: Model<LinkDoc>;
  readonly #tx: Model<TxDoc>;
  readonly #upstream: Model<UpstreamDoc>;
  readonly #now: () => number;

  constructor(conn: Connection, now: () => number) {
    this.#methods =
      (conn.models.SignInMethod as Model<MethodDoc>) ??
      conn.model<MethodDoc>('SignInMethod', methodSchema);
    this.#links =
      (conn.models.ExternalIdentity as Model<LinkDoc>) ??
      conn.model<LinkDoc>('ExternalIdentity', linkSchema);
    this.#tx =
      (conn.models.SsoTransaction as Model<TxDoc>) ?? conn.model<TxDoc>('SsoTransaction', txSchema);
    this.#upstream =
      (conn.models.UpstreamSignIn as Model<UpstreamDoc>) ??
      conn.model<UpstreamDoc>('UpstreamSignIn', upstreamSchema);
    this.#now = now;
  }

  async ensureIndexes(): Promise<void> {
    await this.#methods.collection.createIndex({ organizationId: 1, name: 1 }, { unique: true });
  }

  async create(method: Omit<StoredMethod, 'createdAt' | 'updatedAt'>): Promise<StoredMethod> {
    const at = new Date(this.#now());
    const { id, ...rest } = method;
    const doc: MethodDoc = { _id: id, ...rest, createdAt: at, updatedAt: at };
    await conflictOnDuplicate(
      () => this.#methods.create(doc),
      `a sign-in method named "${method.name}" already exists in this organization`,
    );
    return toMethod(doc);
  }

  async findById(id: string): Promise<StoredMethod | undefined> {
    const doc = await this.#methods.findById(id).lean<MethodDoc>();
    return doc ? toMethod(doc) : undefined;
  }

  async listFor(organizationId: string): Promise<StoredMethod[]> {
    return (
      await this.#methods.find({ organizationId }).sort({ createdAt: 1 }).lean<MethodDoc[]>()
    ).map(toMethod);
  }

  async update(
    id: string,
    change: Pick<StoredMethod, 'displayName' | 'settings' | 'sealed'>,
  ): Promise<void> {
    await this.#methods.replaceOne(
      { _id: id },
      {
        ...(await this.#methods.findById(id).lean<MethodDoc>()),
        ...change,
        updatedAt: new Date(this.#now()),
      },
    );
  }

  async delete(id: string): Promise<void> {
    await this.#methods.deleteOne({ _id: id });
    await this.#links.deleteMany({ methodId: id });
  }

  async findLink(methodId: string, externalId: string): Promise<ExternalIdentity | undefined> {
    const doc = await this.#links.findById(linkId(methodId, externalId)).lean<LinkDoc>();
    return doc ? toLink(doc) : undefined;
  }

  /** Answers false when the external identity is already linked (to anyone). */
  async link(link: Omit<ExternalIdentity, 'createdAt'>): Promise<boolean> {
    try {
      await this.#links.create({
        _id: linkId(link.methodId, link.externalId),
        ...link,
        createdAt: new Date(this.#now()),
      });
      return true;
    } catch (err) {
      if (isDuplicateKey(err)) return false;
      throw err;
    }
  }

  async unlink(methodId: string, externalId: string): Promise<boolean> {
    return (await this.#links.deleteOne({ _id: linkId(methodId, externalId) })).deletedCount === 1;
  }

  async linksOf(accountId: string): Promise<ExternalIdentity[]> {
    return (await this.#links.find({ accountId }).sort({ createdAt: 1 }).lean<LinkDoc[]>()).map(
      toLink,
    );
  }

  async saveTransaction(tx: SsoTransaction): Promise<void> {
    const { id, ...rest } = tx;
    await this.#tx.replaceOne({ _id: id }, rest, { upsert: true });
  }

  async findTransaction(id: string): Promise<SsoTransaction | undefined> {
    const doc = await this.#tx.findById(id).lean<TxDoc>();
    if (!doc || doc.expiresAt.getTime() <= this.#now()) return undefined;
    const { _id, ...rest } = doc;
    return { id: _id, ...rest };
  }

  async deleteTransaction(id: string): Promise<void> {
    await this.#tx.deleteOne({ _id: id });
  }

  async recordUpstream(accountId: string, authTime: number, record: UpstreamSignIn): Promise<void> {
    await this.#upstream.replaceOne({ _id: `${accountId}:${authTime}` }, record, { upsert: true });
  }

  async findUpstream(accountId: string, authTime: number): Promise<UpstreamSignIn | undefined> {
    const doc = await this.#upstream.findById(`${accountId}:${authTime}`).lean<UpstreamDoc>();
    if (!doc || doc.expiresAt.getTime() <= this.#now()) return undefined;
    const { _id: _i, ...rest } = doc;
    return rest;
  }

  async sweepExpired(): Promise<void> {
    const expired = { expiresAt: { $lte: new Date(this.#now()) } };
    await this.#tx.deleteMany(expired);
    await this.#upstream.deleteMany(expired);
  }
}
