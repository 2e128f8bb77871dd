/**
 * Authenticates an OAuth client the way the token and introspection endpoints do (RFC 6749
 * §2.3.1: client_secret_basic or client_secret_post), for requests Keyward answers itself in
 * front of oidc-provider. Uses only public APIs: `provider.Client.find` and the client's secret,
 * compared in constant time.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Context } from 'koa';
import type Provider from 'oidc-provider';

type Client = NonNullable<Awaited<ReturnType<Provider['Client']['find']>>>;

/** An OAuth error response: status, `error`, `error_description`. */
export class OAuthError extends Error {
  readonly status: number;
  readonly error: string;
  constructor(status: number, error: string, description: string) {
    super(description);
    this.status = status;
    this.error = error;
  }
}

/** Writes an OAuth error as oidc-provider would (JSON, no-store, a Basic challenge for a 401 after Basic). */
export function sendOAuthError(ctx: Context, err: OAuthError, issuer: string): void {
  ctx.status = err.status;
  ctx.set('Cache-Control', 'no-store');
  if (err.status === 401 && ctx.get('authorization')) {
    ctx.set('WWW-Authenticate', `Basic realm="${issuer}", error="${err.error}", error_description="${err.message.replace(/"/g, "'")}"`);
  }
  ctx.body = { error: err.error, error_description: err.message };
}

const formDecode = (s: string) => decodeURIComponent(s.replace(/\+/g, '%20'));

function sameSecret(given: string, expected: string): boolean {
  // Hash first so lengths match and the comparison time does not depend on the secret's length.
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/** The client that authenticated this request with its secret, or an OAuthError. */
export async function authenticateClient(provider: Provider, ctx: Context, params: URLSearchParams): Promise<Client> {
  let clientId = params.get('client_id') ?? undefined;
  let secret = params.get('client_secret') ?? undefined;
  const header = ctx.get('authorization');
  if (header && secret) throw new OAuthError(400, 'invalid_request', 'client authentication must only be provided using one mechanism');
  if (header) {
    const m = /^Basic ([A-Za-z0-9+/]+={0,2})$/i.exec(header.trim());
    const decoded = m ? Buffer.from(m[1], 'base64').toString('utf8') : '';
    const colon = decoded.indexOf(':');
    if (colon < 0) throw new OAuthError(400, 'invalid_request', 'invalid authorization header value format');
    let basicId: string;
    try {
      basicId = formDecode(decoded.slice(0, colon));
      secret = formDecode(decoded.slice(colon + 1));
    } catch {
      throw new OAuthError(400, 'invalid_request', 'client_id and client_secret in the authorization header are not properly encoded');
    }
    if (clientId !== undefined && clientId !== basicId) throw new OAuthError(400, 'invalid_request', 'client_id mismatch');
    clientId = basicId;
  }
  if (!clientId) throw new OAuthError(400, 'invalid_request', 'no client authentication mechanism provided');
  const client = await provider.Client.find(clientId);
  if (!client) throw new OAuthError(401, 'invalid_client', 'client authentication failed');
  if (client.clientAuthMethod === 'none') {
    if (secret) throw new OAuthError(401, 'invalid_client', 'client authentication failed');
    return client;
  }
  const expected = client.clientSecret;
  const expired = !!client.clientSecretExpiresAt && client.clientSecretExpiresAt * 1000 <= Date.now();
  if (!secret || !expected || expired || !sameSecret(secret, expected)) throw new OAuthError(401, 'invalid_client', 'client authentication failed');
  return client;
}
