/**
 * The signature counter rule of WebAuthn §6.1.1 for one assertion, race-free: a key that counts
 * must present a counter above the stored one, and each (credential, counter) value is accepted
 * once — claimed with a once-marker, because "update where counter = stored" is not atomic on
 * FerretDB (#3040) and let two sign-ins with the same counter (a clone racing the original)
 * both through. The stored counter then only moves forward ($max). Keys that do not count
 * (always 0, e.g. synced passkeys) rely on the single-use challenge alone.
 */
import type { MfaFactor, MfaFactorRepository } from './mfa-factor-repository.ts';
import type { OnceClaims } from '../../platform/store/once-marker-repository.ts';

export interface CounterDeps {
  factors: MfaFactorRepository;
  once: OnceClaims;
  now: () => number;
}

/** Markers outlive any realistic gap between two uses; after that the stored counter refuses the value. */
const MARKER_DAYS = 30;

export async function acceptCounter(
  deps: CounterDeps,
  factor: MfaFactor,
  next: number,
): Promise<boolean> {
  const stored = factor.webauthn!.counter;
  if (stored === 0 && next === 0) {
    await deps.factors.raiseWebAuthnCounter(factor.id, 0);
    return true;
  }
  if (next <= stored) return false;
  const expiresAt = new Date(deps.now() + MARKER_DAYS * 86400_000);
  if (!(await deps.once.claim(`webauthn-counter:${factor.id}:${next}`, expiresAt))) return false;
  await deps.factors.raiseWebAuthnCounter(factor.id, next);
  return true;
}
