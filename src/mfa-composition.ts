/** Builds 2-step verification: repositories, services, the sign-in decision and sudo mode. */
import type { Connection } from './db/connect.ts';
import type { Config } from './config/schema.ts';
import type { ServerKeys } from './services/server-keys.ts';
import type { ThrottleService } from './services/throttle-service.ts';
import type { AuditService } from './services/audit-service.ts';
import type { PolicyService } from './services/policy-service.ts';
import type { OrganizationService } from './services/organization-service.ts';
import { MfaFactorRepository } from './repositories/mfa-factor-repository.ts';
import { RecoveryCodeRepository } from './repositories/recovery-code-repository.ts';
import { ChallengeRepository } from './repositories/challenge-repository.ts';
import type { OnceClaims } from './repositories/once-marker-repository.ts';
import type { ReadThrough } from './repositories/read-through.ts';
import { MfaService } from './services/mfa-service.ts';
import { WebAuthnService } from './services/webauthn-service.ts';
import { mfaRequirement, registerMfaPolicies } from './services/mfa-policy.ts';
import { decideMfa, isKeptSession, keepSession } from './services/mfa-decision.ts';
import { SessionSudo } from './services/sudo-service.ts';

export async function composeMfa(deps: {
  connection: Connection; config: Config; now: () => number; keys: ServerKeys; throttle: ThrottleService;
  audit: AuditService; policies: PolicyService; organizations: OrganizationService; once: OnceClaims; directory: ReadThrough;
}) {
  const { connection, config, now } = deps;
  const factors = new MfaFactorRepository(connection, now, deps.directory);
  const recovery = new RecoveryCodeRepository(connection, now);
  const challenges = new ChallengeRepository(connection, now, deps.once);
  await factors.ensureIndexes();
  await recovery.ensureIndexes();
  registerMfaPolicies(deps.policies);
  const mfa = new MfaService({
    factors, recovery, envelope: deps.keys.envelope, pepper: deps.keys.pepper, throttle: deps.throttle, once: deps.once,
    rules: { account: config.throttle.mfa, ip: config.throttle.ip }, audit: deps.audit, now, issuerName: config.mfa.issuerName,
    requirement: (accountId) => mfaRequirement(accountId, deps),
  });
  const webauthn = new WebAuthnService({ factors, challenges, once: deps.once, now, audit: deps.audit, baseUrl: config.baseUrl, rpName: config.mfa.issuerName, fipsAaguids: config.mfa.fipsAaguids.map((a) => a.toLowerCase()) });
  const decide = (accountId: string, amr: string[], requested: boolean) => decideMfa(accountId, amr, requested, { mfa, challenges, now });
  const sessions = {
    keep: (sessionUid: string) => keepSession(sessionUid, config.ttl.sessionSeconds, { challenges }),
    isKept: (sessionUid: string) => isKeptSession(sessionUid, { challenges }),
  };
  const sudo = new SessionSudo({ challenges, hasMfa: (id) => mfa.hasMfa(id), windowSeconds: config.mfa.sudoWindowSeconds, now });
  return { mfa, webauthn, factors, challenges, decide, sessions, sudo, now };
}

export type MfaParts = Awaited<ReturnType<typeof composeMfa>>;
