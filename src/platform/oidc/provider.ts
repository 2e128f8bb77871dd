/** Builds the node-oidc-provider instance from configuration, through its public options only. */
import Provider, {
  errors,
  interactionPolicy,
  type Configuration,
  type KoaContextWithOIDC,
  type UnknownObject,
} from 'oidc-provider';
import { CLIENT_AUTH_METHODS, type Config } from '../config/schema.ts';
import type { Logger } from '../logging/logger.ts';
import type { AccountService } from '../directory/account-service.ts';
import type { ServerKeys } from '../crypto/server-keys.ts';
import type { OidcPayloadRepository } from './oidc-payload-repository.ts';
import type { OnceClaims } from '../store/once-marker-repository.ts';
import type { Views } from '../http/views.ts';
import { createAdapterClass } from './adapter.ts';
import type { TokenPayloadCache } from './token-payload-cache.ts';
import { isDatabaseUnavailable } from '../db/connect.ts';
import {
  DEFAULT_RESOURCE,
  FIRST_PARTY,
  RESOURCE_SERVER,
  clientProperty,
  consoleClient,
  toClientMetadata,
} from './clients.ts';
import { autoGrantFirstParty } from './first-party-grant.ts';
import { createPages } from './pages.ts';
import { ACR_MFA, ACR_PWD } from '../auth/second-factor.ts';
import { DPOP_ALGORITHMS } from '../auth/dpop-proof.ts';
import { laxWithoutSecure, providerCookies } from './session-cookie.ts';
import { discoveryFromIssuer } from './discovery-base.ts';
import { profileClaims } from './profile-claims.ts';
import { resourceIndicators } from './api-resources.ts';

/** The sign-in behind a code or token, as the provider records it on them. */
export interface SignInOfToken {
  authTime?: number;
  amr?: string[];
}

/** What a feature adds to the provider's configuration (Feature.providerOptions). */
export interface ProviderOptions {
  /** The interaction policy (prompts and checks); one feature at most brings one. */
  interactionPolicy?: NonNullable<Configuration['interactions']>['policy'];
  /** Provider features (merged over Keyward's own). */
  features?: Configuration['features'];
  /**
   * Claims of a scope that the feature answers (in ID tokens and userinfo): `values` gets the
   * account and the code or token being used (its `authTime` and `amr` describe the sign-in behind it).
   */
  claims?: {
    scope: string;
    names: string[];
    values(accountId: string, token: SignInOfToken | undefined): Promise<Record<string, unknown>>;
  };
  /** Extra authorization parameters and their validators. */
  extraParams?: Record<
    string,
    (ctx: KoaContextWithOIDC, value: string | undefined, client: unknown) => void | Promise<void>
  >;
}

export interface ProviderDeps {
  /** The features' additions, in feature order. */
  options: ProviderOptions[];
  config: Config;
  keys: ServerKeys;
  accounts: AccountService;
  payloads: OidcPayloadRepository;
  /** Told when access tokens or grants are revoked (see adapter.ts). */
  revocations: { announce(): Promise<void> };
  /** Single use of codes and refresh tokens (see adapter.ts). */
  once: OnceClaims;
  now: () => number;
  views: Views;
  logger: Logger;
  /** In-process memory of issued tokens (token-payload-cache.ts). */
  tokens?: TokenPayloadCache;
}

export function createProvider({
  config,
  keys,
  accounts,
  payloads,
  revocations,
  once,
  now,
  views,
  logger,
  options,
  tokens,
}: ProviderDeps): Provider {
  const policies = options.flatMap((o) => (o.interactionPolicy ? [o.interactionPolicy] : []));
  const claimSources = options.flatMap((o) => (o.claims ? [o.claims] : []));
  if (policies.length > 1) throw new Error('more than one feature brings an interaction policy');
  const pages = createPages(views);
  const t = config.ttl;
  const configuration: Configuration = {
    adapter: createAdapterClass({
      repo: payloads,
      revocations,
      once,
      now,
      tokens,
      consumedTtlSeconds: Math.max(
        t.authorizationCodeSeconds,
        t.refreshTokenSeconds,
        t.deviceCodeSeconds,
      ),
    }),
    clients: [...toClientMetadata(config.clients), consoleClient(config.baseUrl)],
    extraClientMetadata: {
      properties: [FIRST_PARTY, RESOURCE_SERVER, DEFAULT_RESOURCE],
      validator(_ctx, key, value, metadata) {
        if ((key === FIRST_PARTY || key === RESOURCE_SERVER) && typeof value !== 'boolean')
          metadata[key] = false;
      },
    },
    jwks: keys.jwks as Configuration['jwks'],
    // The methods a configured client may use (config/schema.ts), advertised for every endpoint that authenticates clients.
    clientAuthMethods: [...CLIENT_AUTH_METHODS],
    discovery: {
      // Only confidential clients get answers from introspection (see allowedPolicy below); public clients may revoke their own tokens.
      introspection_endpoint_auth_methods_supported: CLIENT_AUTH_METHODS.filter(
        (m) => m !== 'none',
      ),
      revocation_endpoint_auth_methods_supported: [...CLIENT_AUTH_METHODS],
    },
    // POST at /authorize and /end_session (OIDC Core §3.1.2.1); see session-cookie.ts for the cookie it needs.
    cookies: providerCookies(keys.cookieKeys),
    enableHttpPostMethods: true,
    // The last three are for machine clients only (client_credentials; SSH keys, issue 6).
    // The configured APIs' scopes too, so their clients may be registered with them (api-resources.ts).
    scopes: [
      ...new Set([
        'openid',
        'offline_access',
        'profile',
        'email',
        'ssh-authorized-keys',
        'ssh-private-keys:sign',
        'ssh-private-keys:read',
        ...config.apiResources.flatMap((r) => r.scope.split(' ').filter(Boolean)),
      ]),
    ],
    claims: claimsByScope(
      {
        openid: ['sub', 'amr', 'acr', 'auth_time'],
        profile: [
          'name',
          'given_name',
          'family_name',
          'preferred_username',
          'locale',
          'zoneinfo',
          'updated_at',
        ],
        email: ['email', 'email_verified'],
      },
      claimSources,
    ),
    responseTypes: ['code'],
    // DPoP (on by default): the proof algorithms Keyward's own routes accept too (dpop-proof.ts).
    enabledJWA: { dPoPSigningAlgValues: [...DPOP_ALGORITHMS] },
    routes: {
      authorization: '/authorize',
      token: '/token',
      userinfo: '/userinfo',
      end_session: '/end_session',
      introspection: '/introspect',
      revocation: '/revoke',
      jwks: '/jwks',
      device_authorization: '/device_authorization',
      code_verification: '/device',
    },
    features: {
      devInteractions: { enabled: false },
      // Machine clients (platform, clusters) get tokens for their own registered scopes (SSH keys, issue 6).
      clientCredentials: { enabled: true },
      // RFC 8707/9068: tokens for the configured APIs, JWT or opaque per API (api-resources.ts).
      resourceIndicators: resourceIndicators(config.apiResources),
      claimsParameter: { enabled: true },
      introspection: {
        enabled: true,
        // Only confidential clients, and of those only resource servers may ask about others' tokens.
        async allowedPolicy(_ctx, caller, token) {
          if (caller.clientAuthMethod === 'none') return false;
          return (
            clientProperty(caller, RESOURCE_SERVER) === true || token.clientId === caller.clientId
          );
        },
      },
      // RFC 7009 §2.1: a client may revoke only the tokens issued to it, and is told when it tries another's.
      revocation: {
        enabled: true,
        async allowedPolicy(_ctx, caller, token) {
          if (token.clientId !== caller.clientId)
            throw new errors.UnauthorizedClient('this token was not issued to this client');
          return true;
        },
      },
      userinfo: { enabled: true },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: pages.logoutSource,
        postLogoutSuccessSource: pages.postLogoutSuccessSource,
      },
      ...Object.assign({}, ...options.map((o) => o.features ?? {})),
    },
    extraParams: Object.assign({}, ...options.map((o) => o.extraParams ?? {})),
    ttl: {
      Interaction: t.interactionSeconds,
      Session: t.sessionSeconds,
      Grant: t.grantSeconds,
      AuthorizationCode: t.authorizationCodeSeconds,
      // A configured API may want shorter (or longer) tokens than the default (api-resources.ts).
      AccessToken: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? t.accessTokenSeconds,
      IdToken: t.idTokenSeconds,
      RefreshToken: t.refreshTokenSeconds,
      ClientCredentials: (_ctx, token) =>
        token.resourceServer?.accessTokenTTL ?? t.clientCredentialsSeconds,
      DeviceCode: t.deviceCodeSeconds,
    },
    interactions: {
      url: (_ctx, interaction) => `/interaction/${interaction.uid}`,
      policy: policies[0] ?? interactionPolicy.base(),
    },
    acrValues: [ACR_PWD, ACR_MFA],
    loadExistingGrant: autoGrantFirstParty,
    renderError: pages.renderError,
    async findAccount(_ctx: KoaContextWithOIDC, id: string, token?: object) {
      const account = await accounts.findById(id);
      if (!account || account.disabled) return undefined;
      return {
        accountId: id,
        async claims(): Promise<UnknownObject & { sub: string }> {
          const contributed = await Promise.all(
            claimSources.map((c) => c.values(id, token as SignInOfToken | undefined)),
          );
          return {
            ...Object.assign({}, ...contributed),
            sub: id,
            name: account.displayName,
            preferred_username: account.username,
            ...profileClaims(account),
            updated_at: Math.floor(account.updatedAt.getTime() / 1000),
            email: account.email,
            email_verified: false,
          };
        },
      };
    },
  };

  const provider = new Provider(config.issuer, configuration);
  // The same proxy trust as the app: the client address is config.trustProxy entries from the right of X-Forwarded-For.
  provider.proxy = config.trustProxy > 0;
  provider.maxIpsCount = config.trustProxy;
  for (const event of [
    'server_error',
    'grant.error',
    'introspection.error',
    'revocation.error',
    'userinfo.error',
    'end_session.error',
    'authorization.error',
  ]) {
    provider.on(
      event as 'server_error',
      (ctx: KoaContextWithOIDC, err: Error & { status?: number; error_description?: string }) => {
        if (isDatabaseUnavailable(err)) {
          ctx.state.databaseUnavailable = true;
          logger.warn(
            { event: 'oidc.database_unavailable', requestId: ctx.state?.requestId },
            'database unavailable during an OIDC request',
          );
          return;
        }
        const level = event === 'server_error' || (err.status ?? 500) >= 500 ? 'error' : 'info';
        logger[level](
          {
            event: `oidc.${event}`,
            requestId: ctx.state?.requestId,
            error: err.message,
            description: err.error_description,
          },
          'oidc error',
        );
      },
    );
  }
  provider.on('grant.revoked', (ctx: KoaContextWithOIDC, grantId: string) => {
    logger.info(
      { event: 'oidc.grant.revoked', requestId: ctx.state?.requestId, grantId },
      'grant revoked',
    );
  });
  provider.use(laxWithoutSecure());
  provider.use(discoveryFromIssuer(config.issuer));
  return provider;
}

/** Keyward's claims per scope, with the features' claims added to their scopes. */
function claimsByScope(
  own: Record<string, string[]>,
  sources: NonNullable<ProviderOptions['claims']>[],
): Record<string, string[]> {
  const all = { ...own };
  for (const c of sources) all[c.scope] = [...new Set([...(all[c.scope] ?? []), ...c.names])];
  return all;
}
