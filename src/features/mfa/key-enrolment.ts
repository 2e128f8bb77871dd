/**
 * Adding a key (a security key or a passkey) from a browser session: the same rule for both —
 * the session it was added in stays valid, and an account's first second factor comes with
 * recovery codes, shown once.
 */
import type { Principal } from '../../platform/auth/principal.ts';
import type { RequestInfo } from '../../platform/directory/audit-service.ts';
import type { MfaFactor } from './mfa-factor-repository.ts';
import type { MfaParts } from './mfa-parts.ts';

export async function enrolKey(
  parts: Pick<MfaParts, 'mfa' | 'sessions'>,
  p: Principal,
  request: RequestInfo,
  register: () => Promise<MfaFactor>,
): Promise<{ id: string; recoveryCodes?: string[] }> {
  const first = !(await parts.mfa.hasMfa(p.account.id));
  const factor = await register();
  await parts.sessions.keep(p.sessionUid!);
  if (!first) return { id: factor.id };
  return {
    id: factor.id,
    recoveryCodes: await parts.mfa.regenerateRecoveryCodes(p.account, request),
  };
}
