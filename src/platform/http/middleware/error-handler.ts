/**
 * The one place errors become HTTP: AppError keeps its status and message; body-parser and Koa
 * errors below 500 keep theirs; a lost database becomes 503; anything else is a logged 500 with
 * no detail. APIs answer the ACTIVATE envelope (or RFC 9457 problem+json when asked); browsers
 * get a page.
 */
import type { Context, Middleware } from 'koa';
import { AppError, type ErrorCode } from '../../errors/app-error.ts';
import { isDatabaseUnavailable } from '../../db/connect.ts';
import type { Logger } from '../../logging/logger.ts';
import type { Views } from '../views.ts';

function normalise(err: unknown): AppError {
  if (err instanceof AppError) return err;
  if (isDatabaseUnavailable(err))
    return new AppError('unavailable', 'The database is unreachable; try again shortly.', {
      headers: { 'Retry-After': '5' },
    });
  const e = err as { status?: number; expose?: boolean; type?: string; message?: string };
  if (e?.type === 'entity.parse.failed' || (err instanceof SyntaxError && e.status === 400))
    return new AppError('invalid_json', 'The request body is not valid JSON.');
  if (e?.type === 'entity.too.large' || e?.status === 413)
    return new AppError('payload_too_large', 'The request body is too large.');
  if (e?.status === 415) return new AppError('unsupported_media_type', 'Unsupported content type.');
  // @koa/router answers methods it does not know at all (e.g. TRACE) with 501.
  if (e?.status === 501)
    return new AppError('method_not_allowed', 'This HTTP method is not supported here.');
  if (typeof e?.status === 'number' && e.status >= 400 && e.status < 500) {
    const code: ErrorCode =
      e.status === 404
        ? 'not_found'
        : e.status === 405
          ? 'method_not_allowed'
          : e.status === 401
            ? 'unauthenticated'
            : e.status === 403
              ? 'forbidden'
              : 'invalid_request';
    return new AppError(code, e.expose && e.message ? e.message : 'The request is invalid.');
  }
  return new AppError('internal', 'Internal server error.', { cause: err });
}

export function wantsJson(ctx: Context): boolean {
  if (ctx.path.startsWith('/api/') || ctx.path === '/healthz' || ctx.path === '/readyz')
    return true;
  return ctx.accepts('html', 'json', 'application/problem+json') !== 'html';
}

export function errorHandler(logger: Logger, views: Views, baseUrl: string): Middleware {
  return async (ctx, next) => {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) {
        ctx.state.noRoute = true; // the browser gets a "Page not found" page with a way back
        throw new AppError('not_found', `No route for ${ctx.method} ${ctx.path}.`);
      }
    } catch (raw) {
      const err = normalise(raw);
      if (err.code === 'unavailable') {
        logger.warn(
          { event: 'http.unavailable', requestId: ctx.state.requestId, path: ctx.path },
          'database unavailable',
        );
      } else if (err.status >= 500) {
        logger.error(
          {
            event: 'http.error',
            requestId: ctx.state.requestId,
            code: err.code,
            error: String((raw as Error)?.stack ?? raw),
          },
          'request failed',
        );
      }
      ctx.status = err.status;
      for (const [k, v] of Object.entries(err.headers)) ctx.set(k, v);
      if (!wantsJson(ctx)) {
        ctx.type = 'html';
        const noRoute = ctx.state.noRoute === true;
        ctx.body = views.render('error.njk', {
          title: noRoute
            ? 'Page not found'
            : err.status === 410
              ? 'This page has expired'
              : err.status >= 500
                ? 'Something went wrong'
                : 'Request problem',
          message: noRoute
            ? 'There is no page at this address. It may have moved, or the link may be mistyped.'
            : err.message,
          code: err.code,
          requestId: ctx.state.requestId,
          noRoute,
        });
      } else if (
        ctx.accepts('application/json', 'application/problem+json') ===
          'application/problem+json' &&
        !ctx.get('accept').startsWith('application/json')
      ) {
        ctx.type = 'application/problem+json';
        ctx.body = {
          type: `${baseUrl}/problems/${err.code}`,
          title: err.message,
          status: err.status,
          detail: err.message,
          instance: ctx.path,
          code: err.code,
          params: err.params,
          ...(err.fieldErrors.length ? { errors: err.fieldErrors } : {}),
        };
      } else {
        ctx.type = 'application/json';
        ctx.body = {
          error: true,
          message: err.message,
          code: err.code,
          errors: err.fieldErrors.length
            ? err.fieldErrors.map((f) =>
                `${f.pointer ?? f.parameter ?? ''}: ${f.detail ?? f.code}`.replace(/^: /, ''),
              )
            : null,
          params: err.params,
        };
      }
    }
  };
}
