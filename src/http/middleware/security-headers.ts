import type { Middleware } from 'koa';

/** Hardening headers for everything; a strict CSP for the pages Keyward renders itself. */
export function securityHeaders(): Middleware {
  return async (ctx, next) => {
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.set('Referrer-Policy', 'no-referrer');
    ctx.set('X-Frame-Options', 'DENY');
    if (!ctx.path.startsWith('/api/oidc')) {
      ctx.set('Content-Security-Policy', "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'");
    }
    await next();
  };
}
