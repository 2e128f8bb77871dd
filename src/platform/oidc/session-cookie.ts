/**
 * The provider's cookies, and why its session cookie is SameSite=None on https.
 *
 * OIDC Core §3.1.2.1 and RP-Initiated Logout §2 require POST at /authorize and /end_session.
 * oidc-provider serves POST there (`enableHttpPostMethods`) only with a SameSite=None session
 * cookie: a relying party's auto-submitted form is a cross-site POST, which carries no Lax
 * cookie, so the provider would not see the person's session and would start a new one.
 *
 * Browsers drop a SameSite=None cookie that is not also Secure, and the cookie library marks a
 * cookie Secure only on https requests. So on plain http (development without TLS, or a
 * TLS-terminating proxy Keyward does not trust) the cookie is rewritten to SameSite=Lax, as it
 * always was: POST works there too, but a cross-site POST does not see an existing session (the
 * person signs in again). The interaction cookies stay Lax everywhere.
 *
 * The CSRF consequences (the session cookie now comes with cross-site requests on https) are
 * described in the README: the provider's endpoints are bound by state, PKCE and its own xsrf
 * tokens; Keyward's forms carry CSRF tokens tied to a SameSite=Strict cookie.
 */
import type { Context, Middleware } from 'koa';
import type { Configuration } from 'oidc-provider';

/** The provider's session cookie (oidc-provider's default name), which signs a browser in to Keyward. */
export const SESSION_COOKIE = '_session';

export function providerCookies(keys: string[]): NonNullable<Configuration['cookies']> {
  return {
    keys,
    long: { httpOnly: true, sameSite: 'none', signed: true },
    short: { httpOnly: true, sameSite: 'lax', signed: true },
  };
}

const SAME_SITE_NONE = /;\s*samesite=none/i;
const SECURE = /;\s*secure\s*(;|$)/i;

/** SameSite=None without Secure would be dropped by the browser: send such a cookie as Lax. */
export function laxWithoutSecure(): Middleware {
  return async (ctx, next) => {
    try {
      await next();
    } finally {
      downgrade(ctx);
    }
  };
}

const withoutSecure = (line: string) => SAME_SITE_NONE.test(line) && !SECURE.test(line);

function downgrade(ctx: Context): void {
  if (ctx.headerSent) return;
  const header = ctx.response.get('set-cookie') as string | string[] | undefined;
  const lines = Array.isArray(header) ? header : header ? [header] : [];
  if (!lines.some(withoutSecure)) return;
  ctx.set(
    'Set-Cookie',
    lines.map((l) => (withoutSecure(l) ? l.replace(SAME_SITE_NONE, '; samesite=lax') : l)),
  );
}
