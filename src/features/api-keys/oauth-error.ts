/**
 * OAuth error responses written in front of oidc-provider (token-exchange-contract.ts), in the
 * provider's own shape.
 */
import type { Context } from 'koa';

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
    ctx.set(
      'WWW-Authenticate',
      `Basic realm="${issuer}", error="${err.error}", error_description="${err.message.replace(/"/g, "'")}"`,
    );
  }
  ctx.body = { error: err.error, error_description: err.message };
}
