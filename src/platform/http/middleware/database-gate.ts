import type { Middleware } from 'koa';
import { AppError } from '../../errors/app-error.ts';

/** Answers 503 straight away while the database is unreachable, instead of hanging or failing late. */
export function databaseGate(isConnected: () => boolean, exempt: string[]): Middleware {
  return async (ctx, next) => {
    if (
      !exempt.some((p) => ctx.path === p || (p.endsWith('/') && ctx.path.startsWith(p))) &&
      !isConnected()
    )
      throw new AppError('unavailable', 'The database is unreachable; try again shortly.', {
        headers: { 'Retry-After': '5' },
      });
    await next();
    // oidc-provider renders its own 500 for adapter failures; a lost database is a 503.
    if (ctx.state.databaseUnavailable)
      throw new AppError('unavailable', 'The database is unreachable; try again shortly.', {
        headers: { 'Retry-After': '5' },
      });
  };
}
