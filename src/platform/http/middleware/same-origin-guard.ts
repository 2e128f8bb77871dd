/**
 * Cross-site request forgery defence for the REST API. A browser attaches the session cookie to
 * requests other sites make (SameSite=Lax still sends it from a sibling subdomain, which is the
 * same "site"), so a state-changing /api request that authenticates by that cookie must prove it
 * comes from Keyward's own origin:
 *
 * - `Sec-Fetch-Site` when the browser sends it: only `same-origin` (or `none`, a user-typed URL);
 *   `same-site` is exactly the sibling-subdomain attack;
 * - otherwise `Origin`, equal to the request's own origin or the configured public origin;
 * - neither: refused.
 *
 * Credentials in an Authorization header are not ambient (no other site can make a browser send
 * them without a CORS preflight, which Keyward never grants), so those requests are not checked.
 * Body-less requests are checked too (a no-cors `fetch` POST or a DELETE carries no body).
 * The account pages (/account/…) keep their per-form tokens (csrf.ts); the provider's own
 * endpoints answer before this runs.
 */
import type { Context, Middleware } from 'koa';
import { AppError } from '../../errors/app-error.ts';
import { isApiPath, isSafeMethod } from '../api-path.ts';

export interface SameOriginGuardOptions {
  /** The origin Keyward is published at (from KEYWARD_PUBLIC_URL), e.g. https://id.example.com. */
  publicOrigin: string;
  /** The cookie that authenticates a browser session (see session-authenticator.ts). */
  sessionCookie: string;
}

const REFUSED =
  'Cross-site request refused: a request authenticated by the browser session cookie must come from ' +
  "Keyward's own pages (same origin). API clients: send an API key or token in the Authorization header instead of a cookie.";

function provesSameOrigin(ctx: Context, publicOrigin: string): boolean {
  const site = ctx.get('sec-fetch-site').trim().toLowerCase();
  if (site) return site === 'same-origin' || site === 'none';
  const origin = ctx.get('origin').trim();
  if (!origin || origin === 'null') return false;
  // Not ctx.origin: since Koa 3 that is the Origin header itself.
  return origin === `${ctx.protocol}://${ctx.host}` || origin === publicOrigin;
}

export function sameOriginGuard(opts: SameOriginGuardOptions): Middleware {
  return async (ctx, next) => {
    const cookieCaller =
      !ctx.get('authorization') && ctx.cookies.get(opts.sessionCookie) !== undefined;
    if (
      cookieCaller &&
      isApiPath(ctx.path) &&
      !isSafeMethod(ctx.method) &&
      !provesSameOrigin(ctx, opts.publicOrigin)
    ) {
      throw new AppError('csrf_failed', REFUSED);
    }
    await next();
  };
}
