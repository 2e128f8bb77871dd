/** 2-step verification's parts: repositories, services, the sign-in decision and sudo mode. */
import type Provider from 'oidc-provider';
import type { AccountService } from '../../platform/directory/account-service.ts';
import type { OidcPayloadRepository } from '../../platform/oidc/oidc-payload-repository.ts';
import type { Connection } from '../../platform/db/connect.ts';
import type { Config } from '../../platform/config/schema.ts';
import type { ServerKeys } from '../../platform/crypto/server-keys.ts';
import type { ThrottleService } from '../../platform/throttle/throttle-service.ts';
import type { AuditService } from '../../platform/directory/audit-service.ts';
import type { PolicyService } from '../../platform/directory/policy-service.ts';
import type { OrganizationService } from '../../platform/directory/organization-service.ts';
import { MfaFactorRepository } from './mfa-factor-repository.ts';
import { RecoveryCodeRepository } from './recovery-code-repository.ts';
import { ChallengeRepository } from '../../platform/store/challenge-repository.ts';
import type { OnceClaims } from '../../platform/store/once-marker-repository.ts';
import type { ReadThrough } from '../../platform/store/read-through.ts';
import { MfaService } from './mfa-service.ts';
import { WebAuthnService } from './webauthn-service.ts';
import { mfaRequirement, registerMfaPolicies } from './mfa-policy.ts';
import { decideMfa, isKeptSession, keepSession } from './mfa-decision.ts';
import { SessionSudo } from '../../platform/auth/sudo-service.ts';

export async function buildMfa(deps: {
  connection: Connection;
  config: Config;
  now: () => number;
  keys: ServerKeys;
  throttle: ThrottleService;
  audit: AuditService;
  policies: PolicyService;
  organizations: OrganizationService;
  once: OnceClaims;
  directory: ReadThrough;
}) {
  const { connection, config, now } = deps;
  const factors = new MfaFactorRepository(connection, now, deps.directory);
  const recovery = new RecoveryCodeRepository(connection, now);
  const challenges = new ChallengeRepository(connection, now, deps.once);
  await factors.ensureIndexes();
  await recovery.ensureIndexes();
  registerMfaPolicies(deps.policies);
  const mfa = new MfaService({
    factors,
    recovery,
    envelope: deps.keys.envelope,
    pepper: deps.keys.pepper,
    throttle: deps.throttle,
    once: deps.once,
    rules: { account: config.throttle.mfa, ip: config.throttle.ip },
    audit: deps.audit,
    now,
    issuerName: config.mfa.issuerName,
    requirement: (accountId) => mfaRequirement(accountId, deps),
  });
  const webauthn = new WebAuthnService({
    factors,
    challenges,
    once: deps.once,
    now,
    audit: deps.audit,
    baseUrl: config.baseUrl,
    rpName: config.mfa.issuerName,
    fipsAaguids: config.mfa.fipsAaguids.map((a) => a.toLowerCase()),
  });
  const decide = (accountId: string, amr: string[], requested: boolean) =>
    decideMfa(accountId, amr, requested, { mfa, challenges, now });
  const sessions = {
    keep: (sessionUid: string) =>
      keepSession(sessionUid, config.ttl.sessionSeconds, { challenges }),
    isKept: (sessionUid: string) => isKeptSession(sessionUid, { challenges }),
  };
  const sudo = new SessionSudo({
    challenges,
    hasMfa: (id) => mfa.hasMfa(id),
    windowSeconds: config.mfa.sudoWindowSeconds,
    now,
  });
  return { mfa, webauthn, factors, challenges, decide, sessions, sudo, now };
}

export type MfaParts = Awaited<ReturnType<typeof buildMfa>>;

/** What the routes and pages of 2-step verification (and the organization page) use. */
export interface MfaFeatureDeps {
  provider: Provider;
  accounts: AccountService;
  organizations: OrganizationService;
  audit: AuditService;
  mfa: MfaParts;
  payloads: OidcPayloadRepository;
  config: Config;
  policies: PolicyService;
}
