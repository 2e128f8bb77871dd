/**
 * Short-lived OpenSSH user certificates for the signed-in user: principal = username (plus the
 * platform's extra principals), valid from a little in the past (clock skew) until the earliest
 * of what was asked, the policy maximum (≤ 24 h) and the presenting credential's own expiry.
 * Refused, with the reason, for disabled accounts, expired credentials, credentials whose
 * sign-in did not meet the organization's 2-step verification requirement, and when the policy
 * disables certificates. Every issuance, refusal and revocation is audited.
 */
import { AppError } from '../../platform/errors/app-error.ts';
import type { Principal } from '../../platform/auth/principal.ts';
import { buildCertificate, certificateLine } from './ssh-certificate.ts';
import { buildKrl } from './ssh-krl.ts';
import type {
  SshCertificateRecord,
  SshCertificateRepository,
} from './ssh-certificate-repository.ts';
import { parsePublicKey } from '../../platform/ssh/ssh-key-parser.ts';
import { sshCertificateSettings, POLICY_ENABLED } from './ssh-certificate-policy.ts';
import { meetsRequirement, signInMethods, type SignInEvidenceSources } from './sign-in-evidence.ts';
import type { SshCaService } from './ssh-ca-service.ts';
import type { AuditService, RequestInfo } from '../../platform/directory/audit-service.ts';
import type { OrganizationService } from '../../platform/directory/organization-service.ts';
import type { PolicyService } from '../../platform/directory/policy-service.ts';
import type { MfaRequirement } from '../mfa/mfa-policy.ts';

/** Shortest certificate worth issuing; a credential with less time left must be renewed first. */
export const MIN_VALIDITY_SECONDS = 60;
/** Revoked certificates stay in the KRL this long after they expire (servers with a slow clock). */
const KRL_GRACE_MS = 86_400_000;
/** Serial allocations tried before giving up (each loses only to a concurrent issuance). */
const SERIAL_ATTEMPTS = 8;

export interface SshCertificateDeps {
  repo: SshCertificateRepository;
  ca: SshCaService;
  organizations: OrganizationService;
  policies: PolicyService;
  audit: AuditService;
  mfaRequirement: (accountId: string) => Promise<MfaRequirement>;
  evidence: SignInEvidenceSources;
  now: () => number;
  /** valid-after is this far in the past. */
  clockSkewSeconds: number;
  /** Principals Keyward never certifies (e.g. root). */
  reservedPrincipals: string[];
}

export interface IssueInput {
  publicKey: string;
  validitySeconds?: number;
}
export interface IssueContext {
  request: RequestInfo;
  requestId: string;
}
export interface Issued {
  certificate: string;
  record: SshCertificateRecord;
}

export type CertificateStatus = 'valid' | 'expired' | 'revoked';

const iso = (seconds: number) => new Date(seconds * 1000).toISOString();

/** The key to certify, or a 400 pointing at the publicKey field. */
function parseKey(text: string) {
  try {
    return parsePublicKey(text);
  } catch (err) {
    if (!(err instanceof AppError)) throw err;
    throw new AppError(err.code, err.message, {
      fieldErrors: err.fieldErrors.map((f) => ({ ...f, pointer: '#/publicKey' })),
    });
  }
}

export class SshCertificateService {
  readonly #d: SshCertificateDeps;

  constructor(deps: SshCertificateDeps) {
    this.#d = deps;
  }

  status(r: SshCertificateRecord): CertificateStatus {
    if (r.revoked) return 'revoked';
    return r.validBefore.getTime() <= this.#d.now() ? 'expired' : 'valid';
  }

  async issue(p: Principal, input: IssueInput, ctx: IssueContext): Promise<Issued> {
    const key = parseKey(input.publicKey);
    const account = p.account;
    const refuse = async (
      code: 'forbidden' | 'unauthenticated',
      reason: string,
      message: string,
    ): Promise<never> => {
      await this.#d.audit.record({
        type: 'ssh_certificate.refused',
        outcome: 'failure',
        accountId: account.id,
        request: ctx.request,
        details: { reason, via: p.via, fingerprint: key.fingerprint },
      });
      throw new AppError(code, message);
    };
    if (p.via === 'apikey') {
      throw new AppError(
        'forbidden',
        'SSH certificates are issued to a browser session, a CLI sign-in (`keyward auth login`) or a CLI token, not to API keys. Create a short-term CLI token (GET /api/auth/token) and use it instead.',
      );
    }
    if (account.disabled)
      await refuse(
        'forbidden',
        'account_disabled',
        'This account is disabled: no SSH certificate is issued.',
      );
    const nowMs = this.#d.now();
    if (p.expiresAt && p.expiresAt.getTime() <= nowMs)
      await refuse(
        'unauthenticated',
        'credential_expired',
        `The credential you presented expired at ${p.expiresAt.toISOString()}. Sign in again.`,
      );

    const memberships = await this.#d.organizations.membershipsOf(account.id);
    const settings = await sshCertificateSettings(
      this.#d.policies,
      memberships[0]?.organization.id,
    );
    if (!settings.enabled)
      await refuse(
        'forbidden',
        'disabled_by_policy',
        `SSH certificates are disabled by policy (${POLICY_ENABLED}). Ask your organization's administrator.`,
      );

    const requirement = await this.#d.mfaRequirement(account.id);
    if (!meetsRequirement(await signInMethods(p, this.#d.evidence), requirement)) {
      const factor = requirement.webauthnLevel ? 'a security key' : '2-step verification';
      const how =
        p.via === 'token'
          ? `This CLI token was created in a sign-in without ${factor}: create a new one after signing in with it.`
          : p.via === 'oauth'
            ? `The sign-in behind this access token did not use ${factor} (or has ended): run \`keyward auth login\` again and complete ${factor}.`
            : `Sign out and sign in again with ${factor}.`;
      await refuse(
        'forbidden',
        'mfa_required',
        `Your organization requires ${factor} for SSH certificates. ${how}`,
      );
    }

    const principals = [...new Set([account.username, ...settings.extraPrincipals])];
    const reserved = principals.filter((x) => this.#d.reservedPrincipals.includes(x.toLowerCase()));
    if (reserved.length)
      await refuse(
        'forbidden',
        'reserved_principal',
        `Keyward does not issue certificates for the reserved principal "${reserved[0]}".`,
      );

    const now = Math.floor(nowMs / 1000);
    const maxSeconds = settings.maxValidityHours * 3600;
    let validBefore = now + Math.min(input.validitySeconds ?? maxSeconds, maxSeconds);
    if (p.expiresAt) validBefore = Math.min(validBefore, Math.floor(p.expiresAt.getTime() / 1000));
    if (validBefore - now < MIN_VALIDITY_SECONDS) {
      await refuse(
        'unauthenticated',
        'credential_expiring',
        `The credential you presented expires in less than ${MIN_VALIDITY_SECONDS} seconds (at ${p.expiresAt?.toISOString()}). Sign in again or renew it first.`,
      );
    }
    const validAfter = now - this.#d.clockSkewSeconds;

    const { key: caKey, signer } = await this.#d.ca.active();
    const keyId = `keyward:${account.username}:${ctx.requestId}`;
    let blob: Buffer | undefined;
    let record: SshCertificateRecord | undefined;
    // The unique serial index is the arbiter: a serial someone else stored first is never handed out twice.
    for (let attempt = 0; !record; attempt++) {
      if (attempt === SERIAL_ATTEMPTS)
        throw new AppError('unavailable', 'Could not allocate a certificate serial; try again.');
      const serial = await this.#d.repo.nextSerial();
      blob = buildCertificate(
        {
          publicKeyBlob: key.blob,
          serial: BigInt(serial),
          keyId,
          principals,
          validAfter,
          validBefore,
          criticalOptions: settings.sourceAddress
            ? { 'source-address': settings.sourceAddress }
            : {},
          extensions: settings.extensions,
        },
        signer,
      );
      record = await this.#d.repo.insert({
        serial,
        caKeyId: caKey.id,
        caFingerprint: caKey.fingerprint,
        accountId: account.id,
        username: account.username,
        organizationIds: memberships.map((m) => m.organization.id),
        keyId,
        principals,
        extensions: settings.extensions,
        sourceAddress: settings.sourceAddress,
        validAfter: new Date(validAfter * 1000),
        validBefore: new Date(validBefore * 1000),
        keyType: key.type,
        fingerprint: key.fingerprint,
        via: p.via,
      });
    }
    const serial = record.serial;
    await this.#d.audit.record({
      type: 'ssh_certificate.issued',
      accountId: account.id,
      request: ctx.request,
      details: {
        serial,
        keyId,
        principals: principals.join(','),
        validAfter: iso(validAfter),
        validBefore: iso(validBefore),
        fingerprint: key.fingerprint,
        keyType: key.type,
        caKeyId: caKey.id,
        caFingerprint: caKey.fingerprint,
        via: p.via,
        extensions: settings.extensions.join(','),
        ...(settings.sourceAddress ? { sourceAddress: settings.sourceAddress } : {}),
      },
    });
    return { certificate: certificateLine(blob!, key.comment || keyId), record };
  }

  listOwn(
    accountId: string,
    limit: number,
    beforeSerial?: number,
  ): Promise<SshCertificateRecord[]> {
    return this.#d.repo.listByAccount(accountId, limit, beforeSerial);
  }

  async listForOrganization(
    p: Principal,
    orgName: string,
    limit: number,
    beforeSerial?: number,
  ): Promise<SshCertificateRecord[]> {
    const org = await this.#d.organizations.requireAdmin(orgName, p.account);
    return this.#d.repo.listByOrganization(org.id, limit, beforeSerial);
  }

  /** Revokes a certificate (its owner, an admin of one of the owner's organizations at issuance, or a platform admin). */
  async revoke(p: Principal, serial: number, request: RequestInfo): Promise<SshCertificateRecord> {
    const notFound = new AppError(
      'not_found',
      `No SSH certificate with serial ${serial} that you may revoke.`,
    );
    const record = await this.#d.repo.findBySerial(serial);
    if (!record) throw notFound;
    if (record.accountId !== p.account.id && !p.account.platformAdmin) {
      const administered = await this.#d.organizations.administeredBy(p.account.id);
      if (!administered.some((o) => record.organizationIds.includes(o.id))) throw notFound;
    }
    const out = await this.#d.repo.revoke(serial, p.account.id);
    if (!out) throw notFound;
    if (out.changed) {
      await this.#d.audit.record({
        type: 'ssh_certificate.revoked',
        accountId: record.accountId,
        actorId: p.account.id,
        request,
        details: {
          serial,
          keyId: record.keyId,
          principals: record.principals.join(','),
          validAfter: record.validAfter.toISOString(),
          validBefore: record.validBefore.toISOString(),
          fingerprint: record.fingerprint,
          caKeyId: record.caKeyId,
          via: p.via,
        },
      });
    }
    return out.record;
  }

  /** The binary KRL revoking every revoked, not long expired certificate, per CA key. */
  async krl(): Promise<Buffer> {
    const nowMs = this.#d.now();
    const [revoked, caKeys] = await Promise.all([
      this.#d.repo.revokedValidAfter(new Date(nowMs - KRL_GRACE_MS)),
      this.#d.ca.all(),
    ]);
    const byCa = new Map<string, bigint[]>();
    for (const r of revoked)
      byCa.set(r.caKeyId, [...(byCa.get(r.caKeyId) ?? []), BigInt(r.serial)]);
    const sections = caKeys
      .filter((k) => byCa.has(k.id))
      .map((k) => ({ caKeyBlob: Buffer.from(k.publicBlob, 'base64'), serials: byCa.get(k.id)! }));
    return buildKrl({
      revoked: sections,
      version: BigInt(nowMs),
      generatedAt: Math.floor(nowMs / 1000),
      comment: 'Keyward revoked SSH user certificates',
    });
  }
}
