/**
 * Passkeys: discoverable WebAuthn credentials registered with user verification, which sign a
 * person in on their own (no username, no password). They are stored as security-key factors
 * (`webauthn.passkey`), so they also serve as second factors and count for the MFA policies.
 * Sign-in checks origin and RP ID (@simplewebauthn/server), takes its challenge once, is
 * throttled like a password attempt, and refuses a counter that does not move forward
 * (WebAuthn §6.1.1) — race-free through a once-marker per (credential, counter).
 */
import { createHash } from 'node:crypto';
import { generateAuthenticationOptions } from '@simplewebauthn/server';
import { AppError } from '../../platform/errors/app-error.ts';
import type { Account } from '../../platform/directory/account-repository.ts';
import type { ChallengeRepository } from '../../platform/store/challenge-repository.ts';
import type { MfaFactor, MfaFactorRepository } from '../mfa/mfa-factor-repository.ts';
import type { OnceClaims } from '../../platform/store/once-marker-repository.ts';
import type { AuditService, RequestInfo } from '../../platform/directory/audit-service.ts';
import type { ThrottleRule, ThrottleService } from '../../platform/throttle/throttle-service.ts';
import type { MfaRequirement } from '../mfa/mfa-policy.ts';
import { authenticatorName } from './aaguid-names.ts';
import { acceptCounter } from '../mfa/webauthn-counter.ts';
import {
  CHALLENGE_TTL,
  registrationOptions,
  relyingParty,
  verifyAssertion,
  verifyNewCredential,
  type RelyingParty,
} from '../mfa/webauthn-ceremony.ts';

export interface PasskeyDeps {
  factors: MfaFactorRepository;
  challenges: ChallengeRepository;
  once: OnceClaims;
  audit: AuditService;
  throttle: ThrottleService;
  rules: { account: ThrottleRule; ip: ThrottleRule };
  findAccount(id: string): Promise<Account | undefined>;
  requirement(accountId: string): Promise<MfaRequirement>;
  isFips(factor: MfaFactor): boolean;
  /** MfaService.removeFactor: the MFA policies and removal guards apply to passkeys too. */
  removeFactor(account: Account, factorId: string, request: RequestInfo): Promise<MfaFactor>;
  baseUrl: string;
  rpName: string;
  now: () => number;
}

/** A passkey as lists show it. */
export interface PasskeyView {
  id: string;
  name: string;
  authenticator: string;
  synced: boolean;
  createdAt: Date;
  lastUsedAt?: Date;
}

export interface PasskeySignIn {
  account: Account;
  amr: string[];
  factor: MfaFactor;
}

export const isPasskey = (f: MfaFactor): boolean =>
  f.type === 'webauthn' && f.enabled && !!f.webauthn?.passkey;

export class PasskeyService {
  readonly #d: PasskeyDeps;
  readonly #rp: RelyingParty;

  constructor(deps: PasskeyDeps) {
    this.#d = deps;
    this.#rp = relyingParty(deps.baseUrl);
  }

  async list(accountId: string): Promise<MfaFactor[]> {
    return (await this.#d.factors.listFor(accountId)).filter(isPasskey);
  }

  view(f: MfaFactor): PasskeyView {
    const w = f.webauthn!;
    return {
      id: f.id,
      name: f.name,
      synced: w.deviceType === 'multiDevice',
      createdAt: f.createdAt,
      lastUsedAt: f.lastUsedAt,
      authenticator:
        authenticatorName(w.aaguid) ??
        (w.deviceType === 'multiDevice' ? 'Synced passkey' : 'Unknown authenticator'),
    };
  }

  async registrationOptions(account: Account): Promise<Record<string, unknown>> {
    const existing = await this.#d.factors.listFor(account.id);
    const options = await registrationOptions(
      { ...this.#rp, rpName: this.#d.rpName },
      account,
      existing.filter((f) => f.type === 'webauthn'),
      true,
    );
    await this.#d.challenges.put(`passkey-reg:${account.id}`, options.challenge, CHALLENGE_TTL);
    return options;
  }

  async register(
    account: Account,
    name: string,
    response: unknown,
    request: RequestInfo,
  ): Promise<MfaFactor> {
    const challenge = await this.#d.challenges.take(`passkey-reg:${account.id}`);
    if (!challenge)
      throw new AppError('invalid_request', 'The passkey registration expired. Start again.');
    const webauthn = await verifyNewCredential(this.#rp, 'passkey', challenge, response, true);
    const ext = (response as { clientExtensionResults?: { credProps?: { rk?: unknown } } })
      .clientExtensionResults;
    if (ext?.credProps?.rk === false) {
      throw new AppError(
        'validation_failed',
        'This authenticator did not create a passkey (a discoverable credential); add it as a security key instead.',
      );
    }
    const factor = await this.#d.factors.create({
      accountId: account.id,
      type: 'webauthn',
      name: name.trim().slice(0, 64) || 'Passkey',
      enabled: true,
      webauthn: { ...webauthn, passkey: true },
    });
    await this.#d.audit.record({
      type: 'passkey.registered',
      accountId: account.id,
      request,
      details: {
        name: factor.name,
        authenticator: this.view(factor).authenticator,
        synced: webauthn.deviceType === 'multiDevice',
      },
    });
    return factor;
  }

  async remove(account: Account, id: string, request: RequestInfo): Promise<void> {
    const factor = (await this.list(account.id)).find((f) => f.id === id);
    if (!factor) throw new AppError('not_found', `No passkey with id "${id}".`);
    await this.#d.removeFactor(account, id, request);
    await this.#d.audit.record({
      type: 'passkey.removed',
      accountId: account.id,
      request,
      details: { name: factor.name },
    });
  }

  /** Options for signing in with any passkey (no allowCredentials: the authenticator offers its own). */
  async signInOptions(key: string): Promise<Record<string, unknown>> {
    const options = await generateAuthenticationOptions({
      rpID: this.#rp.rpID,
      userVerification: 'required',
      timeout: CHALLENGE_TTL * 1000,
    });
    await this.#d.challenges.put(`passkey-signin:${key}`, options.challenge, CHALLENGE_TTL);
    return options as unknown as Record<string, unknown>;
  }

  /**
   * Verifies a passkey assertion for the sign-in `key` (an interaction): answers the account and
   * the amr (`hwk` for a device-bound passkey, `swk` for a synced one, `user` for the user
   * verification, and `mfa`: two factors in one gesture). Throttled per passkey and per IP.
   */
  async signIn(key: string, response: unknown, request: RequestInfo): Promise<PasskeySignIn> {
    const credentialId =
      typeof (response as { id?: unknown })?.id === 'string'
        ? (response as { id: string }).id.slice(0, 1400)
        : '';
    const factor = credentialId
      ? await this.#d.factors.findByCredentialId(credentialId)
      : undefined;
    const subject = factor
      ? factor.accountId
      : `unknown:${createHash('sha256').update(credentialId).digest('hex')}`;
    let refusal = 'This passkey could not be verified.';
    const { wait, result } = await this.#d.throttle.attempt(
      [
        { key: `passkey:acct:${subject}`, rule: this.#d.rules.account, resetOnSuccess: true },
        { key: `login:ip:${request.ip}`, rule: this.#d.rules.ip },
      ],
      async () => {
        const challenge = await this.#d.challenges.take(`passkey-signin:${key}`);
        if (!challenge) {
          refusal = 'The passkey request expired or was already used. Try again.';
          return undefined;
        }
        if (!factor?.webauthn || !factor.enabled) {
          refusal =
            'This passkey is not registered with Keyward (it may have been removed). Sign in another way.';
          return undefined;
        }
        if (!factor.webauthn.passkey) {
          refusal =
            'This security key is registered as a second factor only: sign in with your password, then use the key.';
          return undefined;
        }
        const outcome = await this.#verify(factor, challenge, response);
        if (typeof outcome === 'string') {
          refusal = outcome;
          return undefined;
        }
        return outcome;
      },
    );
    if (wait > 0) {
      throw new AppError(
        'rate_limited',
        `Too many failed sign-in attempts. Try again in ${wait < 120 ? `${wait} seconds` : `${Math.ceil(wait / 60)} minutes`}.`,
        { headers: { 'Retry-After': String(wait) }, params: { retryAfter: wait } },
      );
    }
    if (!result) {
      await this.#d.audit.record({
        type: 'passkey.used',
        accountId: factor?.accountId,
        request,
        outcome: 'failure',
        details: { reason: refusal },
      });
      throw new AppError('unauthenticated', refusal);
    }
    const account = await this.#d.findAccount(factor!.accountId);
    if (!account)
      throw new AppError(
        'unauthenticated',
        'This passkey belongs to an account that no longer exists.',
      );
    if (account.disabled)
      throw new AppError('forbidden', 'This account is disabled. Contact your administrator.');
    const req = await this.#d.requirement(account.id);
    if (req.webauthnLevel === 'fips' && !this.#d.isFips(factor!)) {
      await this.#d.audit.record({
        type: 'passkey.used',
        accountId: account.id,
        request,
        outcome: 'failure',
        details: { reason: 'not FIPS-certified' },
      });
      throw new AppError(
        'forbidden',
        'Your organization requires a FIPS-certified security key; this passkey is not on the list. Sign in with that key.',
      );
    }
    await this.#d.audit.record({
      type: 'passkey.used',
      accountId: account.id,
      request,
      details: { name: factor!.name },
    });
    return {
      account,
      factor: factor!,
      amr: [factor!.webauthn!.deviceType === 'multiDevice' ? 'swk' : 'hwk', 'user', 'mfa'],
    };
  }

  /** The cryptographic checks and the counter rule; answers the refusal's message on failure. */
  async #verify(
    factor: MfaFactor,
    challenge: string,
    response: unknown,
  ): Promise<MfaFactor | string> {
    const w = factor.webauthn!;
    const checked = await verifyAssertion(this.#rp, 'passkey', w, challenge, response, true);
    if ('refusal' in checked) return checked.refusal;
    const handle = (response as { response?: { userHandle?: unknown } }).response?.userHandle;
    if (
      typeof handle === 'string' &&
      handle &&
      Buffer.from(handle, 'base64url').toString('utf8') !== factor.accountId
    ) {
      return 'This passkey answered for another account.';
    }
    const next = checked.newCounter;
    if (
      !(await acceptCounter(
        { factors: this.#d.factors, once: this.#d.once, now: this.#d.now },
        factor,
        next,
      ))
    ) {
      return 'This passkey reported a counter it has used before (possibly a cloned authenticator); it was refused.';
    }
    return factor;
  }
}
