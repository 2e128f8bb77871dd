/**
 * API keys and short-term CLI tokens: creation under the organization's lifetime rules (sudo
 * mode, audited), listing without secrets, deletion, and verification of a presented credential
 * (format and checksum first, then one indexed read by digest, then the owner's state).
 */
import { usedSecondFactor } from '../../platform/auth/second-factor.ts';
import { randomBytes } from 'node:crypto';
import { AppError } from '../../platform/errors/app-error.ts';
import type { Account } from '../../platform/directory/account-repository.ts';
import type { PersonalCredential, PersonalCredentialRepository } from './api-key-repository.ts';
import type { Principal } from '../../platform/auth/principal.ts';
import type { AccountService } from '../../platform/directory/account-service.ts';
import type { AuditService, RequestInfo } from '../../platform/directory/audit-service.ts';
import type { OrganizationService } from '../../platform/directory/organization-service.ts';
import type { PolicyService } from '../../platform/directory/policy-service.ts';
import type { SudoGuard } from '../../platform/auth/sudo-service.ts';
import type { ThrottleRule, ThrottleService } from '../../platform/throttle/throttle-service.ts';
import {
  generateCredential,
  hintOf,
  parseCredential,
  type CredentialKind,
} from './api-key-format.ts';
import type { RevocableCache } from '../../platform/store/revocable-cache.ts';
import {
  keyExpiry,
  lifetimeRules,
  tokenExpiry,
  type KeyLifetimeRequest,
  type LifetimeRules,
} from './api-key-policies.ts';

const KIND_LABEL: Record<CredentialKind, string> = { apikey: 'API key', token: 'CLI token' };

export interface Verified {
  credential: PersonalCredential;
  account: Account;
}
export interface Created {
  credential: PersonalCredential;
  plaintext: string;
}
export interface CreateKeyInput extends KeyLifetimeRequest {
  title?: string;
}

export interface PersonalCredentialDeps {
  repo: PersonalCredentialRepository;
  accounts: AccountService;
  organizations: OrganizationService;
  policies: PolicyService;
  audit: AuditService;
  sudo: SudoGuard;
  now: () => number;
  /** The host named inside every credential (see api-key-format.ts). */
  host: string;
  /** lastUsedAt is written at most this often per credential. */
  lastUsedWriteMs: number;
  /** Rate limit of the leaked-credential revocation endpoint, per client IP. */
  throttle: ThrottleService;
  revokeRule: ThrottleRule;
  /** Whether the account has an enabled second factor (lifts an enforce-mfa suspension). */
  hasSecondFactor: (accountId: string) => Promise<boolean>;
  /** Memory of recent verifications (see revocable-cache.ts). */
  cache: RevocableCache<Verified>;
  /** Tells every process (and this one's cache) that a credential was revoked. */
  revocations: { announce(): Promise<void> };
}

function generatedName(prefix: string, nowMs: number): string {
  const stamp = new Date(nowMs).toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${prefix}-${stamp}-${randomBytes(3).toString('hex').slice(0, 4)}`;
}

function cleanTitle(title: string): string {
  const t = title.trim();
  if (!t)
    throw new AppError(
      'validation_failed',
      'title must not be empty: give the key a name, or omit title for a generated one.',
    );
  if (t.length > 100)
    throw new AppError('validation_failed', 'title must be at most 100 characters.');
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f]/.test(t))
    throw new AppError('validation_failed', 'title must not contain control characters.');
  return t;
}

export class PersonalCredentialService {
  readonly #d: PersonalCredentialDeps;

  constructor(deps: PersonalCredentialDeps) {
    this.#d = deps;
  }

  /** The lifetime rules that apply to this account (its primary organization's policies). */
  async rulesFor(accountId: string): Promise<LifetimeRules> {
    const membership = await this.#d.organizations.primaryOf(accountId);
    return lifetimeRules(this.#d.policies, membership?.organization.id);
  }

  async createKey(
    principal: Principal,
    input: CreateKeyInput,
    request: RequestInfo,
  ): Promise<Created> {
    await this.#d.sudo.require(principal, 'create an API key');
    const name =
      input.title === undefined ? generatedName('token', this.#d.now()) : cleanTitle(input.title);
    const membership = await this.#d.organizations.primaryOf(principal.account.id);
    const rules = await lifetimeRules(this.#d.policies, membership?.organization.id);
    const expiresAt = keyExpiry(rules, input, this.#d.now());
    return this.#create(principal, 'apikey', name, expiresAt, membership?.organization.id, request);
  }

  async createToken(
    principal: Principal,
    ttlHours: number | undefined,
    request: RequestInfo,
  ): Promise<Created> {
    await this.#d.sudo.requireOfSessions(principal, 'create a CLI token');
    const membership = await this.#d.organizations.primaryOf(principal.account.id);
    const rules = await lifetimeRules(this.#d.policies, membership?.organization.id);
    const expiresAt = tokenExpiry(rules, ttlHours, this.#d.now());
    return this.#create(
      principal,
      'token',
      generatedName('cli-token', this.#d.now()),
      expiresAt,
      membership?.organization.id,
      request,
    );
  }

  async #create(
    principal: Principal,
    kind: CredentialKind,
    name: string,
    expiresAt: Date | undefined,
    organizationId: string | undefined,
    request: RequestInfo,
  ): Promise<Created> {
    const plaintext = generateCredential(kind, this.#d.host);
    const parsed = parseCredential(plaintext);
    if (!parsed.ok) throw new Error(`generated credential does not parse: ${parsed.reason}`);
    const credential = await this.#d.repo.create({
      kind,
      ownerId: principal.account.id,
      organizationId,
      name,
      digest: parsed.credential.digest,
      hint: hintOf(plaintext),
      expiresAt,
      createdWithMfa: usedSecondFactor(principal.amr),
    });
    await this.#d.audit.record({
      type: `${kind}.created`,
      accountId: principal.account.id,
      request,
      details: {
        name,
        via: principal.via,
        ...(expiresAt ? { expiresAt: expiresAt.toISOString() } : { expiresAt: 'never' }),
      },
    });
    return { credential, plaintext };
  }

  /** The account's keys and tokens; expired tokens are left out (they are swept), expired keys shown. */
  async list(accountId: string): Promise<PersonalCredential[]> {
    const now = this.#d.now();
    return (await this.#d.repo.listByOwner(accountId)).filter(
      (c) => c.kind === 'apikey' || !c.expiresAt || c.expiresAt.getTime() > now,
    );
  }

  async deleteByName(principal: Principal, name: string, request: RequestInfo): Promise<void> {
    const credential = await this.#d.repo.findByOwnerAndName(principal.account.id, name);
    if (!credential)
      throw new AppError('not_found', `You have no API key or token named "${name}".`);
    await this.#delete(principal, credential, request);
  }

  async deleteById(
    principal: Principal,
    id: string,
    request: RequestInfo,
  ): Promise<PersonalCredential> {
    const credential = await this.#d.repo.findByOwnerAndId(principal.account.id, id);
    if (!credential)
      throw new AppError(
        'not_found',
        'That API key or token does not exist (it may already be deleted).',
      );
    await this.#delete(principal, credential, request);
    return credential;
  }

  async #delete(
    principal: Principal,
    credential: PersonalCredential,
    request: RequestInfo,
  ): Promise<void> {
    await this.#d.sudo.requireOfSessions(
      principal,
      `delete the ${KIND_LABEL[credential.kind]} "${credential.name}"`,
    );
    await this.#d.repo.delete(credential.digest);
    await this.#d.revocations.announce();
    await this.#d.audit.record({
      type: `${credential.kind}.deleted`,
      accountId: principal.account.id,
      request,
      details: { name: credential.name, via: principal.via },
    });
  }

  /**
   * The credential and its owner, or a 401 saying what is wrong. Malformed values (prefix, host
   * encoding, alphabet, length, checksum) are refused before any database read.
   */
  async verify(raw: string, ip?: string): Promise<Verified> {
    const found = await this.lookup(raw);
    if ('problem' in found)
      throw new AppError('unauthenticated', found.problem, {
        headers: { 'WWW-Authenticate': 'Basic realm="keyward", Bearer realm="keyward"' },
      });
    const { credential } = found;
    const now = this.#d.now();
    if (
      !credential.lastUsedAt ||
      now - credential.lastUsedAt.getTime() >= this.#d.lastUsedWriteMs
    ) {
      // Best effort and not awaited: recording use must not slow down or fail the request.
      credential.lastUsedAt = new Date(now); // also in a cached copy, so the next write waits its turn
      this.#d.repo.touch(credential.digest, credential.lastUsedAt, ip).catch(() => undefined);
    }
    return found;
  }

  /** Like verify, without side effects: a usable credential and its owner, or why not. */
  async lookup(raw: string): Promise<Verified | { problem: string }> {
    const parsed = parseCredential(raw);
    if (!parsed.ok) return { problem: `Invalid credential: ${parsed.reason}.` };
    const { digest, kind } = parsed.credential;
    return this.#d.cache.through(digest, () => this.#load(digest, KIND_LABEL[kind]));
  }

  async #load(digest: string, label: string): Promise<Verified | { problem: string }> {
    const credential = await this.#d.repo.findByDigest(digest);
    if (!credential)
      return { problem: `This ${label} is not valid: it was deleted or never existed.` };
    if (credential.expiresAt && credential.expiresAt.getTime() <= this.#d.now()) {
      return { problem: `This ${label} expired at ${credential.expiresAt.toISOString()}.` };
    }
    if (credential.suspended) {
      if (!(await this.#d.hasSecondFactor(credential.ownerId))) {
        return {
          problem: `This ${label} is suspended: your organization requires two-step verification. Enrol a second factor to use it again.`,
        };
      }
      await this.#d.repo.clearFlags(credential.ownerId);
    }
    const account = await this.#d.accounts.findById(credential.ownerId);
    if (!account || account.disabled)
      return { problem: `This ${label} belongs to a disabled account.` };
    return { credential, account };
  }

  /**
   * Revokes leaked credentials reported by anyone (e.g. a secret scanner). Answers nothing, so
   * the caller learns nothing about which values were real; each revocation is audited for its owner.
   */
  async revokeLeaked(values: string[], request: RequestInfo): Promise<void> {
    const subjects = [
      { key: `revoke-leaked:ip:${request.ip ?? 'unknown'}`, rule: this.#d.revokeRule },
    ];
    // Every request counts (reserved before the work), whatever it revokes.
    const { wait } = await this.#d.throttle.reserve(subjects);
    if (wait > 0) {
      throw new AppError(
        'rate_limited',
        `Too many revocation requests from this address. Try again in ${wait} seconds.`,
        { headers: { 'Retry-After': String(wait) }, params: { retryAfter: wait } },
      );
    }
    for (const value of new Set(values.map((v) => v.trim()))) {
      const parsed = parseCredential(value);
      if (!parsed.ok) continue;
      const credential = await this.#d.repo.findByDigest(parsed.credential.digest);
      if (!credential || !(await this.#d.repo.delete(credential.digest))) continue;
      await this.#d.revocations.announce();
      await this.#d.audit.record({
        type: `${credential.kind}.revoked`,
        accountId: credential.ownerId,
        request,
        details: { name: credential.name, reason: 'reported as leaked' },
      });
    }
  }
}
