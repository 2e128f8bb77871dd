/**
 * Builds the passkeys feature (issue 16) from the 2-step verification parts: the passkey and
 * passwordless services, the `require-password` policy, the removal guard that keeps a
 * passwordless account's last passkey, and the features (sign-in step, account page, REST).
 */
import type Provider from 'oidc-provider';
import type { Connection } from '../../db/connect.ts';
import type { Config } from '../../config/schema.ts';
import type { Feature } from '../../http/feature.ts';
import type { MfaParts } from '../../mfa-composition.ts';
import type { MfaFactorRepository } from '../../repositories/mfa-factor-repository.ts';
import type { OnceClaims } from '../../repositories/once-marker-repository.ts';
import type { AccountService } from '../../services/account-service.ts';
import type { AuditService } from '../../services/audit-service.ts';
import type { OrganizationService } from '../../services/organization-service.ts';
import type { PolicyService } from '../../services/policy-service.ts';
import type { ThrottleService } from '../../services/throttle-service.ts';
import { PasskeyService } from './passkey-service.ts';
import { PasswordlessRepository } from './passwordless-repository.ts';
import { PasswordlessService, registerPasswordPolicy } from './passwordless-service.ts';
import { registerPasskeySignInRoutes } from './passkey-sign-in-routes.ts';
import { registerPasskeyApiRoutes } from './passkey-api-routes.ts';
import { registerPasskeyPages } from './passkey-pages.ts';

export interface PasskeyFeatureDeps {
  passkeys: PasskeyService;
  passwordless: PasswordlessService;
  mfa: MfaParts['mfa'];
  sudo: MfaParts['sudo'];
  sessions: MfaParts['sessions'];
}

export function composePasskeys(deps: {
  connection: Connection; config: Config; now: () => number; provider: Provider; mfa: MfaParts; factors: MfaFactorRepository;
  once: OnceClaims; audit: AuditService; throttle: ThrottleService; accounts: AccountService; policies: PolicyService;
  organizations: OrganizationService;
  /** The password hasher's hash of a fresh random secret, and the raw hash write (account-repository.ts). */
  unusableHash(): Promise<string>;
  setPasswordHash(accountId: string, hash: string): Promise<boolean>;
}): { passkeys: PasskeyService; passwordless: PasswordlessService; features: Feature[] } {
  const { config, mfa: parts } = deps;
  registerPasswordPolicy(deps.policies);
  const passkeys = new PasskeyService({
    factors: deps.factors, challenges: parts.challenges, once: deps.once, audit: deps.audit, throttle: deps.throttle,
    rules: { account: config.throttle.account, ip: config.throttle.ip },
    findAccount: (id) => deps.accounts.findById(id), requirement: (id) => parts.mfa.requirement(id),
    isFips: (f) => parts.webauthn.isFips(f), removeFactor: (a, id, r) => parts.mfa.removeFactor(a, id, r),
    baseUrl: config.baseUrl, rpName: config.mfa.issuerName, now: deps.now,
  });
  const passwordless = new PasswordlessService({
    repo: new PasswordlessRepository(deps.connection), accounts: deps.accounts, policies: deps.policies, organizations: deps.organizations,
    audit: deps.audit, passkeys: (id) => passkeys.list(id), unusableHash: deps.unusableHash, setPasswordHash: deps.setPasswordHash, now: deps.now,
  });
  parts.mfa.guardRemoval((accountId, remaining) => passwordless.removalVeto(accountId, remaining));
  const featureDeps: PasskeyFeatureDeps = { passkeys, passwordless, mfa: parts.mfa, sudo: parts.sudo, sessions: parts.sessions };
  return {
    passkeys, passwordless,
    features: [
      { name: 'passkey-sign-in', register: ({ router }) => registerPasskeySignInRoutes(router, { provider: deps.provider, passkeys }) },
      { name: 'passkey-api', register: ({ api }) => registerPasskeyApiRoutes(api, featureDeps) },
      { name: 'passkey-pages', register: (f) => registerPasskeyPages(f, featureDeps) },
    ],
  };
}
