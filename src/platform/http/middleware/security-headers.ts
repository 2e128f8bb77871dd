import type { Middleware } from 'koa';

/** One year: browsers then refuse plain http for this host until it runs out (other hosts of the domain are not ours to decide). */
const HSTS = 'max-age=31536000';

/**
 * Hardening headers and a strict CSP for everything Keyward serves; HSTS when Keyward is published
 * over https (KEYWARD_PUBLIC_URL), so a browser never again tries it in the clear.
 */
export function securityHeaders(opts: { hsts: boolean }): Middleware {
  return async (ctx, next) => {
    if (opts.hsts) ctx.set('Strict-Transport-Security', HSTS);
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.set('Referrer-Policy', 'no-referrer');
    ctx.set('X-Frame-Options', 'DENY');
    // oidc-provider adds the hash of its own inline form_post script to this policy.
    ctx.set(
      'Content-Security-Policy',
      "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'",
    );
    await next();
  };
}
