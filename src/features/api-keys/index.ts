/**
 * API keys and CLI tokens (issue 4): repository, policies, service, the Authorization header
 * authenticator, token exchange (registered on the provider), the middleware in front of the
 * provider (introspection of our credentials, the exchange request contract), the enforce-mfa
 * effects, and the REST routes and pages.
 */
import type { Composed } from '../../platform/feature.ts';
import type { Platform } from '../../platform/platform.ts';
import type { MfaParts } from '../mfa/index.ts';
import { PROVIDER_MOUNT } from '../../platform/oidc/provider-mount.ts';
import { PersonalCredentialRepository } from './api-key-repository.ts';
import { PersonalCredentialService, type Verified } from './api-key-service.ts';
import { registerCredentialPolicies } from './api-key-policies.ts';
import { CredentialMfaEffects } from './api-key-mfa-effects.ts';
import { hostForBaseUrl } from './api-key-format.ts';
import { RevocableCache } from '../../platform/store/revocable-cache.ts';
import type { Principal } from '../../platform/auth/principal.ts';
import { credentialAuthenticator } from './api-key-authenticator.ts';
import { registerApiKeyRoutes } from './api-key-routes.ts';
import { registerApiKeyPages } from './api-key-pages.ts';
import { registerAuthRoutes } from './cli-token-routes.ts';
import { registerTokenExchange } from './token-exchange.ts';
import { tokenExchangeContract } from './token-exchange-contract.ts';
import { apiKeyIntrospection } from './api-key-introspection.ts';
import { createJwtSigner } from '../../platform/oidc/jwt-signer.ts';

/** Where app.ts mounts the provider. */
/** Expired API keys stay listed (marked expired) this long before the sweep removes them. */
const EXPIRED_KEY_RETENTION_MS = 30 * 86_400_000;

export interface ApiKeysProvides {
  service: PersonalCredentialService;
  mfaEffects: CredentialMfaEffects;
}

export async function compose(
  p: Platform,
  uses: { mfa: MfaParts },
): Promise<Composed<ApiKeysProvides>> {
  const { config, now, provider, accounts, organizations, policies, audit } = p;
  const c = config.credentials;
  const hasSecondFactor = (accountId: string) => uses.mfa.mfa.hasMfa(accountId);
  const membersOf = async (organizationId: string) =>
    (await organizations.members(organizationId)).map((m) => m.accountId);
  const repo = new PersonalCredentialRepository(p.connection, now);
  await repo.ensureIndexes();
  registerCredentialPolicies(policies);
  const service = new PersonalCredentialService({
    repo,
    accounts,
    organizations,
    policies,
    audit,
    sudo: uses.mfa.sudo,
    now,
    host: hostForBaseUrl(config.baseUrl),
    lastUsedWriteMs: c.lastUsedWriteSeconds * 1000,
    throttle: p.throttle,
    hasSecondFactor,
    cache: new RevocableCache<Verified>({
      ttlMs: c.verifyCacheMs,
      now,
      signal: p.revocations,
      isHit: (r): r is Verified => typeof r === 'object' && r !== null && 'credential' in r,
      expiresAt: (v) => v.credential.expiresAt?.getTime(),
    }),
    revocations: p.revocations,
    revokeRule: {
      freeAttempts: c.revokeFreeRequests,
      baseDelaySeconds: 1,
      maxDelaySeconds: c.revokeWindowSeconds,
      maxConsecutiveFailures: 100_000,
      lockSeconds: c.revokeWindowSeconds,
      resetAfterSeconds: c.revokeWindowSeconds,
    },
  });
  const mfaEffects = new CredentialMfaEffects({
    policies,
    repo,
    audit,
    logger: p.logger,
    membersOf,
    hasSecondFactor,
    suspend: c.suspendOnEnforceMfa,
    revocations: p.revocations,
  });
  const oauthCache = new RevocableCache<Principal>({
    ttlMs: c.verifyCacheMs,
    now,
    signal: p.revocations,
    isHit: (r): r is Principal => typeof r === 'object' && r !== null && 'account' in r,
    expiresAt: (pr) => pr.expiresAt?.getTime(),
  });
  const authDeps = { credentials: service, provider, accounts, oauthCache, dpop: p.dpop };

  return {
    provides: { service, mfaEffects },
    feature: {
      name: 'api-keys',
      withProvider(real) {
        registerTokenExchange(real, {
          ...authDeps,
          signer: createJwtSigner(p.keys.jwks),
          lifetimeSeconds: c.exchangeTokenSeconds,
          now,
        });
        real.use(apiKeyIntrospection({ credentials: service }));
      },
      authenticators: [credentialAuthenticator(authDeps)],
      beforeProvider: [tokenExchangeContract({ provider, mountPath: PROVIDER_MOUNT })],
      register: ({ router, api, nav, kit }) => {
        registerAuthRoutes(api, { organizations, credentials: service });
        registerApiKeyRoutes(api, { credentials: service, now });
        registerApiKeyPages(router, { kit, nav, credentials: service, now });
      },
      sweep: () => repo.sweepExpired(new Date(now() - EXPIRED_KEY_RETENTION_MS)),
    },
  };
}
