/**
 * Credentials in the Authorization header (contract §1, §5.1):
 *
 *   Basic base64("<pwt_ key>:")   API key as username, empty password (a pwut_ token works too)
 *   Bearer pwt_… / pwut_…          API key or CLI token
 *   Bearer <opaque>                OAuth access token from Keyward's provider (first-party apps)
 *   DPoP <opaque> + DPoP: <proof>  the same, bound to a key (RFC 9449): only this way (dpop-proof.ts)
 *
 * One method per request: an Authorization header next to a browser session cookie is a 400.
 * A malformed value is a 401 before any database read (see api-key-format.ts).
 */
import { SESSION_COOKIE } from '../../platform/oidc/session-cookie.ts';
import { createHash } from 'node:crypto';
import type { Context } from 'koa';
import type Provider from 'oidc-provider';
import { AppError } from '../../platform/errors/app-error.ts';
import type { AccountService } from '../../platform/directory/account-service.ts';
import { kindOf } from './api-key-format.ts';
import type { PersonalCredentialService } from './api-key-service.ts';
import { isFirstParty } from '../../platform/oidc/first-party-grant.ts';
import type { RevocableCache } from '../../platform/store/revocable-cache.ts';
import type { Authenticator, Principal } from '../../platform/auth/principal.ts';
import type { DpopProofs } from '../../platform/auth/dpop-proof.ts';

const CHALLENGE = {
  'WWW-Authenticate': 'Basic realm="keyward", Bearer realm="keyward", DPoP realm="keyward"',
};
/** oidc-provider's opaque token values; anything else cannot be one, so no lookup is made. */
const OPAQUE_TOKEN = /^[A-Za-z0-9_-]{20,256}$/;

const unauthenticated = (message: string) =>
  new AppError('unauthenticated', message, { headers: CHALLENGE });

/** Splits the header into the one credential it carries and how it was sent. */
export function credentialFromHeader(header: string): {
  scheme: 'basic' | 'bearer' | 'dpop';
  value: string;
} {
  const m = /^([A-Za-z]+) +([^\s]+)$/.exec(header.trim());
  if (!m)
    throw unauthenticated(
      'Malformed Authorization header: expected "Basic <base64>", "Bearer <token>" or "DPoP <token>".',
    );
  const scheme = m[1].toLowerCase();
  if (scheme === 'bearer' || scheme === 'dpop') return { scheme, value: m[2] };
  if (scheme !== 'basic')
    throw unauthenticated(
      `Unsupported authorization scheme "${m[1]}": use Basic (API key), Bearer or DPoP.`,
    );
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(m[2]))
    throw unauthenticated('Malformed Basic credentials: not base64.');
  const decoded = Buffer.from(m[2], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0)
    throw unauthenticated(
      'Malformed Basic credentials: expected "<api key>:" (the key as username, an empty password).',
    );
  const [user, password] = [decoded.slice(0, colon), decoded.slice(colon + 1)];
  if (user && password)
    throw unauthenticated(
      'Basic authentication takes the API key as the username and an empty password.',
    );
  return { scheme, value: user || password };
}

export interface CredentialAuthenticatorDeps {
  credentials: PersonalCredentialService;
  provider: Provider;
  accounts: AccountService;
  /** Remembers verified OAuth access tokens (by SHA-256 of the value) until a revocation is announced. */
  oauthCache: RevocableCache<Principal>;
  dpop: DpopProofs;
}

/**
 * How the key binding of an OAuth access token is checked for this use of it: called with the
 * key the token is bound to (`jkt`), or undefined for an unbound token; throws to refuse.
 */
export type BindingCheck = (jkt: string | undefined) => Promise<void>;

export function credentialAuthenticator(deps: CredentialAuthenticatorDeps): Authenticator {
  return {
    method: 'apikey',
    async authenticate(ctx: Context): Promise<Principal | undefined> {
      const header = ctx.get('authorization');
      if (!header) return undefined;
      if (ctx.cookies.get(SESSION_COOKIE)) {
        throw new AppError(
          'conflicting_credentials',
          'Use one authentication method per request: this request has both a browser session cookie and an Authorization header.',
        );
      }
      const { scheme, value } = credentialFromHeader(header);
      if (scheme === 'basic' && !kindOf(value))
        throw unauthenticated(
          'Basic authentication is for Keyward API keys (pwt_…); send other tokens as Bearer.',
        );
      if (scheme === 'dpop' && kindOf(value)) {
        throw unauthenticated(
          'The DPoP scheme is for OAuth access tokens bound to a key; send API keys and CLI tokens as Basic or Bearer.',
        );
      }
      return principalForCredential(deps, value, ctx.ip, (jkt) =>
        deps.dpop.checkResource(ctx, { scheme, token: value }, jkt),
      );
    },
  };
}

/**
 * The caller behind an API key, CLI token or first-party OAuth access token, or an AppError
 * (401/403). `binding` decides about the OAuth token's key binding (API keys have none).
 */
export async function principalForCredential(
  deps: CredentialAuthenticatorDeps,
  value: string,
  ip: string | undefined,
  binding: BindingCheck,
): Promise<Principal> {
  const kind = kindOf(value);
  if (!kind) return oauthPrincipal(deps, value, binding);
  const { credential, account } = await deps.credentials.verify(value, ip);
  return {
    account,
    via: kind,
    amr: [],
    credentialId: credential.id,
    expiresAt: credential.expiresAt,
  };
}

/**
 * An OAuth access token issued by Keyward's provider to a first-party app, read through public
 * models, or remembered: the provider's adapter announces every revoked access token and grant.
 * What is remembered includes the key the token is bound to; its proof is checked every time.
 */
async function oauthPrincipal(
  deps: CredentialAuthenticatorDeps,
  value: string,
  binding: BindingCheck,
): Promise<Principal> {
  if (!OPAQUE_TOKEN.test(value)) throw unauthenticated(INVALID_TOKEN);
  const key = createHash('sha256').update(value).digest('base64url');
  const principal = await deps.oauthCache.through(key, () => loadOauthPrincipal(deps, value));
  await binding(principal.jkt);
  return principal;
}

const INVALID_TOKEN = 'The access token is invalid, expired or revoked.';

async function loadOauthPrincipal(
  { provider, accounts }: CredentialAuthenticatorDeps,
  value: string,
): Promise<Principal> {
  const invalid = unauthenticated(INVALID_TOKEN);
  const token = await provider.AccessToken.find(value);
  if (!token?.isValid || !token.accountId) throw invalid;
  if (token.grantId) {
    const grant = await provider.Grant.find(token.grantId);
    if (!grant || grant.accountId !== token.accountId || grant.clientId !== token.clientId)
      throw invalid;
  }
  const client = await provider.Client.find(token.clientId!);
  if (!isFirstParty(client)) {
    throw new AppError(
      'forbidden',
      'This access token was issued to a third-party application; it cannot call the Keyward API.',
    );
  }
  const account = await accounts.findById(token.accountId);
  if (!account || account.disabled)
    throw unauthenticated('The access token belongs to a disabled account.');
  return {
    account,
    via: 'oauth',
    amr: [],
    credentialId: token.jti,
    expiresAt: token.exp ? new Date(token.exp * 1000) : undefined,
    ...(token.jkt ? { jkt: token.jkt } : {}),
  };
}
