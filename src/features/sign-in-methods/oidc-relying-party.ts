/**
 * Keyward as an OpenID Connect relying party of an organization's own identity provider, with
 * `openid-client` (authorization code + PKCE + state + nonce; client_secret_basic/_post or
 * private_key_jwt). openid-client validates the ID token (signature against the IdP's JWKS, iss,
 * aud, azp, exp/iat, nonce); every HTTP call goes through the SSRF-guarded fetch.
 */
import { createPrivateKey } from 'node:crypto';
import * as client from 'openid-client';
import { AppError } from '../../platform/errors/app-error.ts';
import { guardedFetch } from './address-guard.ts';

export interface OidcSettings {
  clientId: string;
  scopes: string;
  discoverEndpoints: boolean | null;
  issuer?: string;
  authorizationEndpoint?: string;
  tokenEndpoint?: string;
  userinfoEndpoint?: string;
  jwksUri?: string;
  endSessionEndpoint?: string;
  tokenEndpointAuthMethod: 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt';
  allowPrivateAddress?: boolean;
}

export interface OidcSecrets {
  clientSecret?: string;
  privateKeyPEM?: string;
}

/** The verified outcome of an upstream sign-in: the ID token's claims, merged with userinfo's. */
export interface UpstreamIdentity {
  claims: Record<string, unknown>;
  amr: string[];
  acr?: string;
}

/** The WebCrypto signing key of a PEM private key, for client assertions (private_key_jwt). */
function assertionKey(pem: string): CryptoKey {
  let key;
  try {
    key = createPrivateKey(pem);
  } catch {
    throw new AppError('validation_failed', 'privateKeyPEM is not a PEM private key.');
  }
  const type = key.asymmetricKeyType;
  const algorithm =
    type === 'rsa'
      ? { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }
      : type === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1'
        ? { name: 'ECDSA', namedCurve: 'P-256' }
        : type === 'ed25519'
          ? { name: 'Ed25519' }
          : undefined;
  if (!algorithm)
    throw new AppError(
      'validation_failed',
      'privateKeyPEM must be an RSA, P-256 or Ed25519 private key.',
    );
  return key.toCryptoKey(algorithm, false, ['sign']) as unknown as CryptoKey;
}

/** Checks a method's secrets fit its token endpoint auth method (before saving). */
export function checkClientAuthentication(
  s: Pick<OidcSettings, 'tokenEndpointAuthMethod'>,
  secrets: OidcSecrets,
): void {
  if (s.tokenEndpointAuthMethod === 'private_key_jwt') {
    if (!secrets.privateKeyPEM)
      throw new AppError(
        'validation_failed',
        'privateKeyPEM is required for tokenEndpointAuthMethod private_key_jwt.',
      );
    assertionKey(secrets.privateKeyPEM);
  } else if (!secrets.clientSecret) {
    throw new AppError(
      'validation_failed',
      `clientSecret is required for tokenEndpointAuthMethod ${s.tokenEndpointAuthMethod}.`,
    );
  }
}

function clientAuth(s: OidcSettings, secrets: OidcSecrets): client.ClientAuth {
  if (s.tokenEndpointAuthMethod === 'private_key_jwt') {
    return client.PrivateKeyJwt(assertionKey(secrets.privateKeyPEM ?? ''));
  }
  if (s.tokenEndpointAuthMethod === 'client_secret_post')
    return client.ClientSecretPost(secrets.clientSecret);
  return client.ClientSecretBasic(secrets.clientSecret);
}

const upstreamFailure = (what: string, err: unknown) => {
  // openid-client wraps what its fetch threw (the SSRF guard's refusal, say): that is the answer.
  for (let e: unknown = err; e instanceof Error; e = e.cause) if (e instanceof AppError) return e;
  const cause = err instanceof Error && err.cause instanceof Error ? ` (${err.cause.message})` : '';
  const detail = err instanceof Error ? `${err.message}${cause}` : String(err);
  return new AppError(
    'unauthenticated',
    `The organization's identity provider ${what}: ${detail}`,
    { cause: err },
  );
};

/** The openid-client configuration of a method: discovered, or from its explicit endpoints. */
export async function relyingParty(
  s: OidcSettings,
  secrets: OidcSecrets,
): Promise<client.Configuration> {
  const fetch = guardedFetch(s.allowPrivateAddress === true);
  const auth = clientAuth(s, secrets);
  const metadata: Partial<client.ClientMetadata> = {
    client_id: s.clientId,
    token_endpoint_auth_method: s.tokenEndpointAuthMethod,
  };
  let config: client.Configuration;
  if (s.discoverEndpoints !== false) {
    if (!s.issuer)
      throw new AppError('validation_failed', 'issuer is required to discover the endpoints.');
    try {
      config = await client.discovery(new URL(s.issuer), s.clientId, metadata, auth, {
        [client.customFetch]: fetch as client.CustomFetch,
        ...(s.allowPrivateAddress ? { execute: [client.allowInsecureRequests] } : {}),
      });
    } catch (err) {
      throw upstreamFailure(`could not be discovered at ${s.issuer}`, err);
    }
  } else {
    for (const f of ['issuer', 'authorizationEndpoint', 'tokenEndpoint', 'jwksUri'] as const) {
      if (!s[f])
        throw new AppError(
          'validation_failed',
          `${f} is required when discoverEndpoints is false.`,
        );
    }
    config = new client.Configuration(
      {
        issuer: s.issuer!,
        authorization_endpoint: s.authorizationEndpoint,
        token_endpoint: s.tokenEndpoint,
        jwks_uri: s.jwksUri,
        // Without discovery the IdP's algorithms are unknown: any asymmetric one its JWKS can verify.
        id_token_signing_alg_values_supported: [
          'RS256',
          'PS256',
          'ES256',
          'ES384',
          'ES512',
          'EdDSA',
          'RS384',
          'RS512',
          'PS384',
          'PS512',
        ],
        userinfo_endpoint: s.userinfoEndpoint || undefined,
        end_session_endpoint: s.endSessionEndpoint || undefined,
      },
      s.clientId,
      metadata,
      auth,
    );
    config[client.customFetch] = fetch as client.CustomFetch;
    if (s.allowPrivateAddress) client.allowInsecureRequests(config);
  }
  return config;
}

export function authorizationUrl(
  config: client.Configuration,
  p: {
    redirectUri: string;
    scopes: string;
    state: string;
    nonce: string;
    codeChallenge: string;
    loginHint?: string;
  },
): URL {
  const scope = [...new Set(['openid', ...p.scopes.split(/\s+/).filter(Boolean)])].join(' ');
  return client.buildAuthorizationUrl(config, {
    redirect_uri: p.redirectUri,
    scope,
    state: p.state,
    nonce: p.nonce,
    response_type: 'code',
    code_challenge: p.codeChallenge,
    code_challenge_method: 'S256',
    ...(p.loginHint ? { login_hint: p.loginHint } : {}),
  });
}

export const newPkce = async () => {
  const verifier = client.randomPKCECodeVerifier();
  return { verifier, challenge: await client.calculatePKCECodeChallenge(verifier) };
};
export const newNonce = () => client.randomNonce();
export const newState = () => client.randomState();

/** Redeems the code and validates the ID token; answers its claims (plus userinfo's, when offered). */
export async function redeem(
  config: client.Configuration,
  callbackUrl: URL,
  checks: { state: string; nonce: string; codeVerifier: string },
): Promise<UpstreamIdentity> {
  let tokens;
  try {
    tokens = await client.authorizationCodeGrant(config, callbackUrl, {
      expectedState: checks.state,
      expectedNonce: checks.nonce,
      pkceCodeVerifier: checks.codeVerifier,
      idTokenExpected: true,
    });
  } catch (err) {
    throw upstreamFailure('answered with a sign-in Keyward cannot accept', err);
  }
  const idToken = tokens.claims();
  if (!idToken)
    throw new AppError('unauthenticated', "The organization's identity provider sent no ID token.");
  let claims: Record<string, unknown> = { ...idToken };
  if (config.serverMetadata().userinfo_endpoint) {
    try {
      const info = await client.fetchUserInfo(config, tokens.access_token, idToken.sub);
      claims = { ...info, ...idToken };
    } catch {
      /* the ID token alone is enough; userinfo only adds profile claims */
    }
  }
  const amr = Array.isArray(idToken.amr)
    ? idToken.amr.filter((m): m is string => typeof m === 'string' && /^[\w.:-]{1,40}$/.test(m))
    : [];
  return {
    claims,
    amr,
    acr: typeof idToken.acr === 'string' ? idToken.acr.slice(0, 200) : undefined,
  };
}
