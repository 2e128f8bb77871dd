/**
 * Discovery names every endpoint from the same base as the issuer (the configured public URL,
 * or http://localhost:PORT without one). oidc-provider builds endpoint URLs from the request's
 * Host header while its issuer is fixed, so a client that reached Keyward by another name (or a
 * forged Host) read endpoints that did not belong to the issuer. Pages and redirects still follow
 * the host the browser used, so its cookies stay with it.
 */
import type { Middleware } from 'koa';
import type { KoaContextWithOIDC } from 'oidc-provider';

/** A `provider.use()` post-middleware: rewrites the discovery document's URLs onto `issuer`. */
export function discoveryFromIssuer(issuer: string): Middleware {
  const mountPath = new URL(issuer).pathname.replace(/\/+$/, '');
  return async (ctx, next) => {
    await next();
    if ((ctx as unknown as KoaContextWithOIDC).oidc?.route !== 'discovery') return;
    const body = ctx.body as Record<string, unknown> | undefined;
    if (!body || typeof body !== 'object') return;
    // The base oidc-provider used: the request's URL (ctx.href), as its urlFor() does.
    const requestBase = new URL(mountPath, ctx.href).href;
    if (requestBase === issuer) return;
    for (const [key, value] of Object.entries(body)) {
      if (typeof value === 'string' && value.startsWith(`${requestBase}/`))
        body[key] = issuer + value.slice(requestBase.length);
    }
  };
}
