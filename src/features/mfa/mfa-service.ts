/**
 * 2-step verification for an account: authenticator apps (TOTP), recovery codes, checks of a
 * second factor (throttled, audited), removal under the organizations' policies. Security keys
 * live in WebAuthnService; both share the factor repository.
 */
import { randomUUID } from 'node:crypto';
import QRCode from 'qrcode';
import { AppError } from '../../platform/errors/app-error.ts';
import type { Envelope } from '../../platform/crypto/envelope.ts';
import type { Account } from '../../platform/directory/account-repository.ts';
import type { MfaFactor, MfaFactorRepository } from './mfa-factor-repository.ts';
import type { RecoveryCodeRepository } from './recovery-code-repository.ts';
import type { OnceClaims } from '../../platform/store/once-marker-repository.ts';
import type { AuditService, RequestInfo } from '../../platform/directory/audit-service.ts';
import type { ThrottleRule, ThrottleService } from '../../platform/throttle/throttle-service.ts';
import type { MfaRequirement } from './mfa-policy.ts';
import { matchTotp, newTotpSeed, totpUri } from './totp.ts';
import { newRecoveryCodes, recoveryCodeDigest } from './recovery-codes.ts';

export type SecondFactorMethod = 'otp' | 'recovery';

export interface MfaDeps {
  factors: MfaFactorRepository;
  recovery: RecoveryCodeRepository;
  envelope: Envelope;
  pepper: Buffer;
  throttle: ThrottleService;
  /** Single use of TOTP steps and recovery codes (once-marker-repository.ts). */
  once: OnceClaims;
  rules: { account: ThrottleRule; ip: ThrottleRule };
  audit: AuditService;
  requirement: (accountId: string) => Promise<MfaRequirement>;
  issuerName: string;
  now: () => number;
}

/** Answers why removing factors (leaving `remaining`) must not happen, or undefined to allow it. */
export type RemovalGuard = (
  accountId: string,
  remaining: MfaFactor[],
) => Promise<string | undefined>;

const seedAad = (accountId: string, factorId: string) => `totp-seed:${accountId}:${factorId}`;

export class MfaService {
  readonly #d: MfaDeps;
  readonly #removalGuards: RemovalGuard[] = [];
  constructor(deps: MfaDeps) {
    this.#d = deps;
  }

  /** Lets another feature veto a removal (e.g. the last passkey of an account without a password). */
  guardRemoval(guard: RemovalGuard): void {
    this.#removalGuards.push(guard);
  }

  async #checkGuards(accountId: string, remaining: MfaFactor[]): Promise<void> {
    for (const guard of this.#removalGuards) {
      const reason = await guard(accountId, remaining);
      if (reason) throw new AppError('forbidden', reason);
    }
  }

  async factors(accountId: string): Promise<MfaFactor[]> {
    return (await this.#d.factors.listFor(accountId)).filter((f) => f.enabled);
  }

  async hasMfa(accountId: string): Promise<boolean> {
    return (await this.factors(accountId)).length > 0;
  }

  requirement(accountId: string): Promise<MfaRequirement> {
    return this.#d.requirement(accountId);
  }

  /** Starts authenticator-app setup: a new seed, not active until a code confirms it. */
  async startOtpSetup(account: Account): Promise<{ secret: string; uri: string; qrImage: string }> {
    if ((await this.factors(account.id)).some((f) => f.type === 'otp')) {
      throw new AppError(
        'conflict',
        'An authenticator app is already set up. Remove it first to set up another.',
      );
    }
    // A setup in progress is shown again (a wrong code or a reload must not force a new scan).
    const pending = (await this.#d.factors.listFor(account.id)).find(
      (f) => f.type === 'otp' && !f.enabled && f.otp,
    );
    const id = pending?.id ?? randomUUID();
    const secret = pending
      ? this.#d.envelope.open(pending.otp!.seed, seedAad(account.id, id)).toString('utf8')
      : newTotpSeed();
    if (!pending) {
      await this.#d.factors.create({
        id,
        accountId: account.id,
        type: 'otp',
        name: 'Authenticator app',
        enabled: false,
        otp: { seed: this.#d.envelope.seal(secret, seedAad(account.id, id)), lastStep: 0 },
      });
    }
    const uri = totpUri(secret, this.#d.issuerName, account.username);
    return {
      secret,
      uri,
      qrImage: await QRCode.toDataURL(uri, { errorCorrectionLevel: 'M', margin: 1, width: 240 }),
    };
  }

  /** Confirms setup with a valid code; answers recovery codes when this is the first factor. */
  async confirmOtpSetup(
    account: Account,
    code: string,
    request: RequestInfo,
  ): Promise<{ recoveryCodes?: string[] }> {
    const pending = (await this.#d.factors.listFor(account.id)).find(
      (f) => f.type === 'otp' && !f.enabled,
    );
    if (!pending?.otp)
      throw new AppError('not_found', 'There is no authenticator setup in progress. Start again.');
    const hadFactors = await this.hasMfa(account.id);
    const seed = this.#d.envelope
      .open(pending.otp.seed, seedAad(account.id, pending.id))
      .toString('utf8');
    await this.#throttled(
      account.id,
      request,
      async () => {
        const step = await matchTotp(seed, code.trim(), this.#d.now(), 0);
        return (
          step !== undefined &&
          (await this.#claimStep(pending.id, step)) &&
          this.#d.factors.enable(account.id, pending.id, step)
        );
      },
      'mfa.otp_setup',
    );
    await this.#d.audit.record({
      type: 'mfa.factor_added',
      accountId: account.id,
      request,
      details: { factor: 'otp' },
    });
    return hadFactors
      ? {}
      : { recoveryCodes: await this.regenerateRecoveryCodes(account, request) };
  }

  /** Checks a second factor at sign-in or for sudo mode; answers the RFC 8176 amr values. */
  async verify(
    accountId: string,
    method: SecondFactorMethod,
    code: string,
    request: RequestInfo,
  ): Promise<string[]> {
    await this.#throttled(
      accountId,
      request,
      async () =>
        method === 'otp' ? this.#checkOtp(accountId, code) : this.#checkRecovery(accountId, code),
      `mfa.${method}`,
    );
    return ['otp'];
  }

  async #checkOtp(accountId: string, code: string): Promise<boolean> {
    for (const f of (await this.factors(accountId)).filter((x) => x.type === 'otp' && x.otp)) {
      const seed = this.#d.envelope.open(f.otp!.seed, seedAad(accountId, f.id)).toString('utf8');
      const step = await matchTotp(seed, code.trim(), this.#d.now(), f.otp!.lastStep);
      if (step === undefined || !(await this.#claimStep(f.id, step))) continue;
      await this.#d.factors.recordOtpStep(f.id, step);
      return true;
    }
    return false;
  }

  /** Each TOTP step of a factor is accepted once, also when the same code arrives twice at once. */
  #claimStep(factorId: string, step: number): Promise<boolean> {
    // Kept past the ±1-step window the code could still be accepted in.
    return this.#d.once.claim(`totp:${factorId}:${step}`, new Date(this.#d.now() + 10 * 60_000));
  }

  async #checkRecovery(accountId: string, code: string): Promise<boolean> {
    const digest = recoveryCodeDigest(this.#d.pepper, accountId, code);
    const id = digest ? await this.#d.recovery.findUnused(accountId, digest) : undefined;
    if (!id || !(await this.#d.once.claim(`recovery:${id}`, new Date(this.#d.now() + 86400_000))))
      return false;
    await this.#d.recovery.markUsed(id);
    await this.#d.audit.record({
      type: 'mfa.recovery_code_used',
      accountId,
      details: { remaining: await this.#d.recovery.remaining(accountId) },
    });
    return true;
  }

  /** Runs a check under per-account and per-IP throttling (counted before it runs), audited. */
  async #throttled(
    accountId: string,
    request: RequestInfo,
    check: () => Promise<boolean>,
    event: string,
  ): Promise<void> {
    const subjects = [
      { key: `mfa:acct:${accountId}`, rule: this.#d.rules.account, resetOnSuccess: true },
      { key: `mfa:ip:${request.ip}`, rule: this.#d.rules.ip },
    ];
    const { wait, result } = await this.#d.throttle.attempt(subjects, check);
    if (wait > 0) {
      throw new AppError(
        'rate_limited',
        `Too many wrong codes. Try again in ${wait < 120 ? `${wait} seconds` : `${Math.ceil(wait / 60)} minutes`}.`,
        { headers: { 'Retry-After': String(wait) } },
      );
    }
    await this.#d.audit.record({
      type: event,
      accountId,
      request,
      outcome: result ? 'success' : 'failure',
    });
    if (!result) {
      // During setup there are no recovery codes yet: only the app's current code can be meant.
      throw new AppError(
        'unauthenticated',
        event === 'mfa.otp_setup'
          ? "That code is not valid. Enter the code your authenticator app shows now, and check that your phone's clock is set automatically."
          : 'That code is not valid. Check your authenticator app (or the recovery code) and try again.',
      );
    }
  }

  async regenerateRecoveryCodes(account: Account, request: RequestInfo): Promise<string[]> {
    if (!(await this.hasMfa(account.id)))
      throw new AppError(
        'invalid_request',
        'Turn on 2-step verification before creating recovery codes.',
      );
    const codes = newRecoveryCodes();
    await this.#d.recovery.replace(
      account.id,
      codes.map((c) => recoveryCodeDigest(this.#d.pepper, account.id, c)!),
    );
    await this.#d.audit.record({
      type: 'mfa.recovery_codes_generated',
      accountId: account.id,
      request,
      details: { count: codes.length },
    });
    return codes;
  }

  /** Drops an unfinished authenticator setup (e.g. after enrolling with a security key instead). */
  async discardPendingSetup(accountId: string): Promise<void> {
    await this.#d.factors.removePendingOtp(accountId);
  }

  recoveryCodesLeft(accountId: string): Promise<number> {
    return this.#d.recovery.remaining(accountId);
  }

  /** Removes one factor, unless it is the last one an enforced policy requires. */
  async removeFactor(account: Account, factorId: string, request: RequestInfo): Promise<MfaFactor> {
    const factor = await this.#d.factors.find(account.id, factorId);
    if (!factor) throw new AppError('not_found', `No second factor with id "${factorId}".`);
    const rest = (await this.factors(account.id)).filter((f) => f.id !== factorId);
    const req = await this.requirement(account.id);
    if (factor.enabled && req.enforced) {
      const stillOk = req.webauthnLevel ? rest.some((f) => f.type === 'webauthn') : rest.length > 0;
      if (!stillOk) {
        throw new AppError(
          'forbidden',
          req.webauthnLevel
            ? 'Your organization requires a security key: register another one before removing this one.'
            : 'Your organization requires 2-step verification: add another factor before removing this one.',
        );
      }
    }
    await this.#checkGuards(account.id, rest);
    await this.#d.factors.remove(account.id, factorId);
    if (rest.length === 0) await this.#d.recovery.removeAll(account.id);
    await this.#d.audit.record({
      type: 'mfa.factor_removed',
      accountId: account.id,
      request,
      details: { factor: factor.type, name: factor.name },
    });
    return factor;
  }

  /** Turns 2-step verification off (all factors and recovery codes), unless a policy requires it. */
  async turnOff(
    account: Account,
    request: RequestInfo,
    opts: { type?: 'otp' | 'webauthn' } = {},
  ): Promise<void> {
    const req = await this.requirement(account.id);
    const remaining = opts.type
      ? (await this.factors(account.id)).filter((f) => f.type !== opts.type)
      : [];
    if (
      req.enforced &&
      !(req.webauthnLevel ? remaining.some((f) => f.type === 'webauthn') : remaining.length > 0)
    ) {
      throw new AppError(
        'forbidden',
        'Your organization requires 2-step verification, so it cannot be turned off.',
      );
    }
    await this.#checkGuards(account.id, remaining);
    await this.#d.factors.removeAll(account.id, opts.type);
    if (!opts.type || remaining.length === 0) await this.#d.recovery.removeAll(account.id);
    await this.#d.audit.record({
      type: opts.type ? 'mfa.factor_removed' : 'mfa.disabled',
      accountId: account.id,
      request,
      details: opts.type ? { factor: opts.type } : {},
    });
  }

  /** An administrator removes all of a member's factors (they must enrol again if required). */
  async adminReset(target: Account, actorId: string, request: RequestInfo): Promise<void> {
    await this.#d.factors.removeAll(target.id);
    await this.#d.recovery.removeAll(target.id);
    await this.#d.audit.record({ type: 'mfa.admin_reset', accountId: target.id, actorId, request });
  }
}
