/**
 * Builds API keys and CLI tokens (issue 4): repository, policies, service, the Authorization
 * header authenticator, token exchange (registered on the provider), the middleware in front of
 * the provider (introspection of our credentials, the exchange request contract), the enforce-mfa
 * effects, and the feature with its REST routes and pages.
 */
import type { Middleware } from 'koa';
import type Provider from 'oidc-provider';
import type { Connection } from './db/connect.ts';
import type { Config } from './config/schema.ts';
import type { Logger } from './logging/logger.ts';
import type { Feature } from './http/feature.ts';
import type { Authenticator } from './http/auth/principal.ts';
import type { DpopProofs } from './http/auth/dpop-proof.ts';
import type { AccountService } from './services/account-service.ts';
import type { AuditService } from './services/audit-service.ts';
import type { OrganizationService } from './services/organization-service.ts';
import type { PolicyService } from './services/policy-service.ts';
import type { ServerKeys } from './services/server-keys.ts';
import type { SudoGuard } from './services/sudo-service.ts';
import type { ThrottleService } from './services/throttle-service.ts';
import { PersonalCredentialRepository } from './repositories/personal-credential-repository.ts';
import { PersonalCredentialService, type Verified } from './services/personal-credential-service.ts';
import { registerCredentialPolicies } from './services/credential-policy.ts';
import { CredentialMfaEffects } from './services/credential-mfa-effects.ts';
import { hostForBaseUrl } from './services/credential-format.ts';
import type { ChangeSignal } from './services/change-signal.ts';
import { RevocableCache } from './services/revocable-cache.ts';
import type { Principal } from './http/auth/principal.ts';
import { credentialAuthenticator } from './http/auth/credential-authenticator.ts';
import { registerApiKeyRoutes } from './http/routes/apikey-routes.ts';
import { registerApiKeyPages } from './http/routes/apikey-pages.ts';
import { registerAuthRoutes } from './http/routes/auth-routes.ts';
import { registerTokenExchange } from './oidc/token-exchange.ts';
import { tokenExchangeContract } from './oidc/token-exchange-contract.ts';
import { credentialIntrospection } from './oidc/credential-introspection.ts';
import { createJwtSigner } from './oidc/jwt-signer.ts';

/** Where app.ts mounts the provider. */
const PROVIDER_MOUNT = '/api/oidc';
/** Expired API keys stay listed (marked expired) this long before the sweep removes them. */
const EXPIRED_KEY_RETENTION_MS = 30 * 86_400_000;

export interface CredentialsDeps {
  connection: Connection; config: Config; logger: Logger; now: () => number; keys: ServerKeys; provider: Provider;
  accounts: AccountService; organizations: OrganizationService; policies: PolicyService; audit: AuditService;
  sudo: SudoGuard; throttle: ThrottleService; revocations: ChangeSignal;
  /** Checks DPoP proofs of access tokens bound to a key (API, token exchange). */
  dpop: DpopProofs;
  /** Account ids of an organization's members. */
  membersOf: (organizationId: string) => Promise<string[]>;
  /** Whether the account has an enabled second factor. */
  hasSecondFactor: (accountId: string) => Promise<boolean>;
}

export interface CredentialsParts {
  service: PersonalCredentialService;
  authenticator: Authenticator;
  beforeProvider: Middleware[];
  feature: Feature;
  mfaEffects: CredentialMfaEffects;
  /** Removes expired tokens, and keys expired more than 30 days ago. */
  sweep(): Promise<number>;
}

export async function composeCredentials(deps: CredentialsDeps): Promise<CredentialsParts> {
  const { config, now, provider, accounts, organizations, policies, audit } = deps;
  const c = config.credentials;
  const repo = new PersonalCredentialRepository(deps.connection, now);
  await repo.ensureIndexes();
  registerCredentialPolicies(policies);
  const service = new PersonalCredentialService({
    repo, accounts, organizations, policies, audit, sudo: deps.sudo, now, host: hostForBaseUrl(config.baseUrl),
    lastUsedWriteMs: c.lastUsedWriteSeconds * 1000, throttle: deps.throttle, hasSecondFactor: deps.hasSecondFactor,
    cache: new RevocableCache<Verified>({
      ttlMs: c.verifyCacheMs, now, signal: deps.revocations,
      isHit: (r): r is Verified => typeof r === 'object' && r !== null && 'credential' in r,
      expiresAt: (v) => v.credential.expiresAt?.getTime(),
    }),
    revocations: deps.revocations,
    revokeRule: {
      freeAttempts: c.revokeFreeRequests, baseDelaySeconds: 1, maxDelaySeconds: c.revokeWindowSeconds,
      maxConsecutiveFailures: 100_000, lockSeconds: c.revokeWindowSeconds, resetAfterSeconds: c.revokeWindowSeconds,
    },
  });
  const mfaEffects = new CredentialMfaEffects({
    policies, repo, audit, logger: deps.logger, membersOf: deps.membersOf, hasSecondFactor: deps.hasSecondFactor, suspend: c.suspendOnEnforceMfa,
    revocations: deps.revocations,
  });
  const oauthCache = new RevocableCache<Principal>({
    ttlMs: c.verifyCacheMs, now, signal: deps.revocations,
    isHit: (r): r is Principal => typeof r === 'object' && r !== null && 'account' in r,
    expiresAt: (p) => p.expiresAt?.getTime(),
  });
  const authDeps = { credentials: service, provider, accounts, oauthCache, dpop: deps.dpop };
  registerTokenExchange(provider, { ...authDeps, signer: createJwtSigner(deps.keys.jwks), lifetimeSeconds: c.exchangeTokenSeconds, now });

  const feature: Feature = {
    name: 'api-keys',
    register: ({ router, api, nav, kit }) => {
      registerAuthRoutes(api, { organizations, credentials: service });
      registerApiKeyRoutes(api, { credentials: service, now });
      registerApiKeyPages(router, { kit, nav, credentials: service, now });
    },
  };
  return {
    service, mfaEffects, feature,
    authenticator: credentialAuthenticator(authDeps),
    beforeProvider: [
      credentialIntrospection({ provider, credentials: service, mountPath: PROVIDER_MOUNT }),
      tokenExchangeContract({ provider, mountPath: PROVIDER_MOUNT }),
    ],
    sweep: () => repo.sweepExpired(new Date(now() - EXPIRED_KEY_RETENTION_MS)),
  };
}
