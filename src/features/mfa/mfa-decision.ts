/**
 * Does a sign-in (its amr) satisfy what the account and its organizations require, or what the
 * client asked for (acr)? Answers what to do next: nothing, verify a factor, or enrol one.
 */
import { usedSecondFactor, usedSecurityKey } from '../../platform/auth/second-factor.ts';
import type { ChallengeRepository } from '../../platform/store/challenge-repository.ts';
import type { MfaService } from './mfa-service.ts';
import type { MfaFactor } from './mfa-factor-repository.ts';
import type { MfaRequirement } from './mfa-policy.ts';

export type MfaNeed = 'ok' | 'verify' | 'enroll';

export interface MfaDecision {
  need: MfaNeed;
  /** Only security keys count (enforce-webauthn-mfa). */
  webauthnOnly: boolean;
  fips: boolean;
  hasOtp: boolean;
  hasKeys: boolean;
  /** Enrolment may be skipped until then (grace period). */
  skippableUntil?: Date;
  /** An organization policy (not only the user's own choice) requires the second factor. */
  enforced: boolean;
}

/**
 * Enforce Security Key MFA (enforce-webauthn-mfa) exempts federated sign-ins (amr `fed`), as the
 * platform's documentation says; enforce-mfa still applies to them.
 */
export function effectiveRequirement(amr: readonly string[], req: MfaRequirement): MfaRequirement {
  if (!amr.includes('fed') || !req.webauthnLevel) return req;
  return { ...req, webauthnLevel: undefined, enforced: req.secondFactorPolicy === true };
}

/** What `mfaDecision` decides from: the account's enabled factors, its organizations' requirement, the sign-in. */
export interface MfaDecisionInput {
  factors: readonly Pick<MfaFactor, 'type'>[];
  requirement: MfaRequirement;
  /** The sign-in's methods so far. */
  amr: readonly string[];
  /** The client asked for a second factor (acr). */
  requested: boolean;
  nowMs: number;
}

/**
 * The rule, pure: a second factor is needed when a policy enforces it, the client asks for it, or
 * the user has one; a security key only counts under enforce-webauthn-mfa. An `enroll` answer
 * with `skippableUntil` is in its grace period: decideMfa answers `ok` if the user skipped it.
 */
export function mfaDecision({
  factors,
  requirement,
  amr,
  requested,
  nowMs,
}: MfaDecisionInput): MfaDecision {
  const req = effectiveRequirement(amr, requirement);
  const hasOtp = factors.some((f) => f.type === 'otp');
  const hasKeys = factors.some((f) => f.type === 'webauthn');
  const webauthnOnly = !!req.webauthnLevel;
  const base = {
    webauthnOnly,
    fips: req.webauthnLevel === 'fips',
    hasOtp,
    hasKeys,
    enforced: req.enforced,
  };
  const satisfied = webauthnOnly ? usedSecurityKey(amr) : usedSecondFactor(amr);
  const needed = req.enforced || requested || factors.length > 0;
  if (!needed || satisfied) return { need: 'ok', ...base };
  if (webauthnOnly ? hasKeys : factors.length > 0) return { need: 'verify', ...base };
  const inGrace = req.enforced && !requested && req.graceUntil && req.graceUntil.getTime() > nowMs;
  return { need: 'enroll', ...base, skippableUntil: inGrace ? req.graceUntil : undefined };
}

export async function decideMfa(
  accountId: string,
  amr: string[],
  requested: boolean,
  deps: { mfa: MfaService; challenges: ChallengeRepository; now: () => number },
): Promise<MfaDecision> {
  const [factors, requirement] = await Promise.all([
    deps.mfa.factors(accountId),
    deps.mfa.requirement(accountId),
  ]);
  const decision = mfaDecision({ factors, requirement, amr, requested, nowMs: deps.now() });
  if (decision.skippableUntil && (await deps.challenges.peek(`mfa-skip:${accountId}`))) {
    const { skippableUntil: _, ...rest } = decision;
    return { ...rest, need: 'ok' };
  }
  return decision;
}

export async function skipEnrolment(
  accountId: string,
  until: Date,
  deps: { challenges: ChallengeRepository; now: () => number },
): Promise<void> {
  await deps.challenges.put(
    `mfa-skip:${accountId}`,
    '1',
    Math.max(1, Math.floor((until.getTime() - deps.now()) / 1000)),
  );
}

/**
 * The browser session in which a user turns on 2-step verification stays valid for their own
 * pages (enabling it does not sign them out); every other password-only session of theirs
 * needs the second factor from then on. Policy requirements apply to it all the same.
 */
export async function keepSession(
  sessionUid: string,
  ttlSeconds: number,
  deps: { challenges: ChallengeRepository },
): Promise<void> {
  await deps.challenges.put(`mfa-kept-session:${sessionUid}`, '1', ttlSeconds);
}

export async function isKeptSession(
  sessionUid: string,
  deps: { challenges: ChallengeRepository },
): Promise<boolean> {
  return (await deps.challenges.peek(`mfa-kept-session:${sessionUid}`)) === '1';
}
