/**
 * Did the sign-in behind a credential use a second factor? Each kind of credential keeps that
 * differently:
 *  - browser session: its own amr;
 *  - CLI token (and API key): whether the session that created it had a second factor
 *    (`createdWithMfa`, recorded by api-key-service.ts; which factor is not kept);
 *  - OAuth access token (device flow, first-party apps): the amr of the browser session it was
 *    issued in, looked up by the token's session id while that session exists. When the session is
 *    gone the sign-in can no longer be shown to have used a second factor.
 */
import {
  SECOND_FACTOR_AMR,
  SECURITY_KEY_AMR,
  SOME_SECOND_FACTOR,
} from '../../platform/auth/second-factor.ts';
import type { Principal } from '../../platform/auth/principal.ts';
import type { MfaRequirement } from '../mfa/mfa-policy.ts';
import { effectiveRequirement } from '../mfa/mfa-decision.ts';

export interface SignInEvidenceSources {
  /** Whether the API key / CLI token was created in a sign-in with a second factor. */
  credentialCreatedWithMfa(accountId: string, credentialId: string): Promise<boolean>;
  /** The amr of the sign-in an OAuth access token came from, when still known. */
  accessTokenAmr(tokenId: string): Promise<string[] | undefined>;
}

/** A second factor of unknown kind (from `createdWithMfa`). */
const SECURITY_KEYS = [...SECURITY_KEY_AMR, SOME_SECOND_FACTOR];

/** The RFC 8176 methods of the sign-in behind the principal's credential, as far as known. */
export async function signInMethods(
  p: Principal,
  sources: SignInEvidenceSources,
): Promise<string[]> {
  if (p.via === 'session') return p.amr;
  if (!p.credentialId) return [];
  if (p.via === 'oauth') return (await sources.accessTokenAmr(p.credentialId)) ?? [];
  return (await sources.credentialCreatedWithMfa(p.account.id, p.credentialId))
    ? [SOME_SECOND_FACTOR]
    : [];
}

/**
 * Whether those methods meet the account's organization requirement. Under
 * enforce-webauthn-mfa a CLI token that recorded only "a second factor" is accepted, because its
 * record does not say which one (a known limitation, documented in the README).
 */
export function meetsRequirement(methods: string[], required: MfaRequirement): boolean {
  const req = effectiveRequirement(methods, required);
  if (!req.enforced && !req.webauthnLevel) return true;
  return methods.some((m) => (req.webauthnLevel ? SECURITY_KEYS : SECOND_FACTOR_AMR).includes(m));
}
