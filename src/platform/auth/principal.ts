/**
 * Who is calling. Each authenticator looks at the request for one kind of credential (browser
 * session cookie, API key, CLI token, OAuth access token) and answers a principal, nothing
 * (not its kind of credential), or throws a 401 (its kind, but invalid). The contract allows one
 * method per request.
 */
import type { Context, Middleware } from 'koa';
import { AppError } from '../errors/app-error.ts';
import type { Account } from '../directory/account-repository.ts';

export type AuthMethod = 'session' | 'apikey' | 'token' | 'oauth';

export interface Principal {
  account: Account;
  via: AuthMethod;
  /** Authentication methods of the sign-in behind this credential (RFC 8176 values). */
  amr: string[];
  /** oidc-provider session uid, for session principals. */
  sessionUid?: string;
  /** When the sign-in behind the credential happened (epoch seconds). */
  authTime?: number;
  /** The credential's own id (API key / token id, access token jti). */
  credentialId?: string;
  /** When the presented credential stops working. */
  expiresAt?: Date;
  /** The key an OAuth access token is bound to (RFC 7638 thumbprint): it works only with a DPoP proof of that key. */
  jkt?: string;
}

export interface Authenticator {
  readonly method: AuthMethod;
  authenticate(ctx: Context): Promise<Principal | undefined>;
}

declare module 'koa' {
  interface DefaultState {
    principal?: Principal;
    requestId?: string;
    resolvePrincipal?: () => Promise<Principal | undefined>;
    /** Set when oidc-provider met a lost database (turned into a 503). */
    databaseUnavailable?: boolean;
  }
}

/** Resolves the principal once per request (lazily, so public routes never touch the database). */
export function principalResolver(authenticators: Authenticator[]): Middleware {
  return async (ctx, next) => {
    let resolved: Promise<Principal | undefined> | undefined;
    ctx.state.resolvePrincipal = () =>
      (resolved ??= (async () => {
        for (const a of authenticators) {
          const p = await a.authenticate(ctx);
          if (p) return p;
        }
        return undefined;
      })());
    await next();
  };
}

/** The caller, or a 401; `allow` limits the methods (e.g. browser session only). */
export async function requirePrincipal(ctx: Context, allow?: AuthMethod[]): Promise<Principal> {
  const resolve = ctx.state.resolvePrincipal;
  const principal = resolve ? await resolve() : undefined;
  if (!principal)
    throw new AppError(
      'unauthenticated',
      'Sign in first: this route needs an authenticated caller.',
      { headers: { 'WWW-Authenticate': 'Bearer realm="keyward"' } },
    );
  if (allow && !allow.includes(principal.via)) {
    throw new AppError(
      'forbidden',
      allow.length === 1 && allow[0] === 'session'
        ? 'This route requires browser session authentication and cannot be used with API keys or tokens.'
        : `This route does not accept ${principal.via} credentials.`,
    );
  }
  ctx.state.principal = principal;
  return principal;
}

export async function optionalPrincipal(ctx: Context): Promise<Principal | undefined> {
  const resolve = ctx.state.resolvePrincipal;
  return resolve ? resolve() : undefined;
}
