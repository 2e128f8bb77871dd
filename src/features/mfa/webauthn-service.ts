/**
 * Security keys (WebAuthn, @simplewebauthn/server): registration with user presence, sign-in
 * with any registered key, counters that must move forward when the key keeps one. The relying
 * party id and origin come from the public URL. FIPS level accepts only configured AAGUIDs.
 */
import { generateAuthenticationOptions } from '@simplewebauthn/server';
import { AppError } from '../../platform/errors/app-error.ts';
import type { Account } from '../../platform/directory/account-repository.ts';
import type { ChallengeRepository } from '../../platform/store/challenge-repository.ts';
import type { MfaFactor, MfaFactorRepository } from './mfa-factor-repository.ts';
import type { AuditService, RequestInfo } from '../../platform/directory/audit-service.ts';
import type { OnceClaims } from '../../platform/store/once-marker-repository.ts';
import { acceptCounter } from './webauthn-counter.ts';
import {
  CHALLENGE_TTL,
  registrationOptions,
  relyingParty,
  verifyAssertion,
  verifyNewCredential,
  type RelyingParty,
} from './webauthn-ceremony.ts';

export interface WebAuthnDeps {
  factors: MfaFactorRepository;
  challenges: ChallengeRepository;
  /** Each (key, counter) value is accepted once (webauthn-counter.ts). */
  once: OnceClaims;
  now: () => number;
  audit: AuditService;
  baseUrl: string;
  rpName: string;
  fipsAaguids: string[];
}

export class WebAuthnService {
  readonly #d: WebAuthnDeps;
  readonly #rp: RelyingParty;

  constructor(deps: WebAuthnDeps) {
    this.#d = deps;
    this.#rp = relyingParty(deps.baseUrl);
  }

  isFips(factor: MfaFactor): boolean {
    return !!factor.webauthn && this.#d.fipsAaguids.includes(factor.webauthn.aaguid.toLowerCase());
  }

  async keys(accountId: string): Promise<MfaFactor[]> {
    return (await this.#d.factors.listFor(accountId)).filter((f) => f.type === 'webauthn');
  }

  async registrationOptions(account: Account): Promise<Record<string, unknown>> {
    const existing = await this.keys(account.id);
    const options = await registrationOptions(
      { ...this.#rp, rpName: this.#d.rpName },
      account,
      existing,
      false,
    );
    await this.#d.challenges.put(`webauthn-reg:${account.id}`, options.challenge, CHALLENGE_TTL);
    return options;
  }

  async register(
    account: Account,
    name: string,
    response: unknown,
    request: RequestInfo,
  ): Promise<MfaFactor> {
    const challenge = await this.#d.challenges.take(`webauthn-reg:${account.id}`);
    if (!challenge)
      throw new AppError('invalid_request', 'The security key registration expired. Start again.');
    const webauthn = await verifyNewCredential(
      this.#rp,
      'security key',
      challenge,
      response,
      false,
    );
    const factor = await this.#d.factors.create({
      accountId: account.id,
      type: 'webauthn',
      name: name.trim().slice(0, 64) || 'Security key',
      enabled: true,
      webauthn,
    });
    await this.#d.audit.record({
      type: 'mfa.factor_added',
      accountId: account.id,
      request,
      details: { factor: 'webauthn', name: factor.name },
    });
    return factor;
  }

  /** Options for signing in with one of the account's keys (`key` scopes the challenge, e.g. an interaction). */
  async authenticationOptions(
    accountId: string,
    key: string,
    onlyFips = false,
  ): Promise<Record<string, unknown>> {
    const keys = (await this.keys(accountId)).filter((f) => !onlyFips || this.isFips(f));
    if (keys.length === 0)
      throw new AppError('invalid_request', 'No security key is registered for this account.');
    const options = await generateAuthenticationOptions({
      rpID: this.#rp.rpID,
      userVerification: 'discouraged',
      timeout: CHALLENGE_TTL * 1000,
      allowCredentials: keys.map((f) => ({
        id: f.webauthn!.credentialId,
        transports: f.webauthn!.transports as never,
      })),
    });
    await this.#d.challenges.put(`webauthn-auth:${key}`, options.challenge, CHALLENGE_TTL);
    return options as unknown as Record<string, unknown>;
  }

  /** Verifies an assertion; answers the amr values (`hwk` for device-bound keys, `swk` for synced ones). */
  async authenticate(
    accountId: string,
    key: string,
    response: unknown,
    request: RequestInfo,
    onlyFips = false,
  ): Promise<string[]> {
    const challenge = await this.#d.challenges.take(`webauthn-auth:${key}`);
    if (!challenge)
      throw new AppError('invalid_request', 'The security key request expired. Try again.');
    const id =
      typeof (response as { id?: unknown })?.id === 'string' ? (response as { id: string }).id : '';
    const factor = id ? await this.#d.factors.findByCredentialId(id) : undefined;
    const fail = async (message: string) => {
      await this.#d.audit.record({ type: 'mfa.webauthn', accountId, request, outcome: 'failure' });
      return new AppError('unauthenticated', message);
    };
    if (!factor || factor.accountId !== accountId || !factor.webauthn)
      throw await fail('This security key is not registered for your account.');
    if (onlyFips && !this.isFips(factor))
      throw await fail(
        'Your organization requires a FIPS-certified security key; this one is not on the list.',
      );
    const w = factor.webauthn;
    const checked = await verifyAssertion(this.#rp, 'security key', w, challenge, response, false);
    if ('refusal' in checked) throw await fail(checked.refusal);
    if (!(await acceptCounter(this.#d, factor, checked.newCounter))) {
      throw await fail(
        'This security key reported a used counter value (possible clone); it was refused.',
      );
    }
    await this.#d.audit.record({
      type: 'mfa.webauthn',
      accountId,
      request,
      outcome: 'success',
      details: { name: factor.name },
    });
    return [w.deviceType === 'multiDevice' ? 'swk' : 'hwk'];
  }
}
