/**
 * Does a sign-in (its amr) satisfy what the account and its organizations require, or what the
 * client asked for (acr)? Answers what to do next: nothing, verify a factor, or enrol one.
 */
import type { ChallengeRepository } from '../repositories/challenge-repository.ts';
import type { MfaService } from './mfa-service.ts';

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

const SECOND_FACTORS = ['otp', 'hwk', 'swk'];

/**
 * `signedInAt` (epoch seconds), when given, judges an existing session: factors the user added
 * after that sign-in do not invalidate it (enabling 2-step verification does not sign you out;
 * signing out other sessions is offered instead). Without it every factor counts, so a new
 * authorization always needs the second factor.
 */
export async function decideMfa(
  accountId: string, amr: string[], requested: boolean,
  deps: { mfa: MfaService; challenges: ChallengeRepository; now: () => number },
  signedInAt?: number,
): Promise<MfaDecision> {
  const [allFactors, req] = await Promise.all([deps.mfa.factors(accountId), deps.mfa.requirement(accountId)]);
  const factors = signedInAt === undefined ? allFactors : allFactors.filter((f) => f.createdAt.getTime() <= signedInAt * 1000);
  const hasOtp = factors.some((f) => f.type === 'otp');
  const hasKeys = factors.some((f) => f.type === 'webauthn');
  const webauthnOnly = !!req.webauthnLevel;
  const base = { webauthnOnly, fips: req.webauthnLevel === 'fips', hasOtp, hasKeys, enforced: req.enforced };
  const satisfied = webauthnOnly ? amr.some((m) => m === 'hwk' || m === 'swk') : amr.some((m) => SECOND_FACTORS.includes(m));
  const needed = req.enforced || requested || factors.length > 0;
  if (!needed || satisfied) return { need: 'ok', ...base };
  if (webauthnOnly ? hasKeys : factors.length > 0) return { need: 'verify', ...base };
  const inGrace = req.enforced && !requested && req.graceUntil && req.graceUntil.getTime() > deps.now();
  if (inGrace && await deps.challenges.peek(`mfa-skip:${accountId}`)) return { need: 'ok', ...base };
  return { need: 'enroll', ...base, skippableUntil: inGrace ? req.graceUntil : undefined };
}

export async function skipEnrolment(accountId: string, until: Date, deps: { challenges: ChallengeRepository; now: () => number }): Promise<void> {
  await deps.challenges.put(`mfa-skip:${accountId}`, '1', Math.max(1, Math.floor((until.getTime() - deps.now()) / 1000)));
}
