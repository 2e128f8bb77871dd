/**
 * Reads request bodies, and says clearly what is wrong with one that cannot be read.
 *
 * The REST API takes JSON only: a state-changing /api request whose body is anything else gets a
 * 415 before a byte is read. Forms, `text/plain` and `multipart/form-data` are exactly what another
 * site can make a browser send without asking first (they used to be read as `{}`, so a route
 * without required fields acted on them). Requests without a body need no Content-Type.
 * Pages (/account/…, /interaction/…) take urlencoded forms, and JSON from their own scripts.
 *
 * A body that cannot be decoded (a Content-Encoding it does not have, invalid JSON) is a 400, one
 * over the size limit a 413 that gives the limit: never a 500.
 */
import type { Context, Middleware } from 'koa';
import { bodyParser } from '@koa/bodyparser';
import { AppError } from '../../errors/app-error.ts';
import { isApiPath, isSafeMethod } from '../api-path.ts';

const PARSED_METHODS = ['POST', 'PUT', 'PATCH', 'DELETE'];

/** The media type without parameters, lower case ('' when there is no Content-Type). */
const mediaType = (ctx: Context) =>
  (ctx.get('content-type').split(';')[0] ?? '').trim().toLowerCase();

function hasBody(ctx: Context): boolean {
  return ctx.get('transfer-encoding') !== '' || Number(ctx.get('content-length') || 0) > 0;
}

function requireJson(ctx: Context): void {
  const type = mediaType(ctx);
  if (type === 'application/json' || (!type && !hasBody(ctx))) return;
  throw new AppError(
    'unsupported_media_type',
    type
      ? `This API takes JSON: send the body with Content-Type: application/json (got ${type}).`
      : 'This API takes JSON: the body has no Content-Type; send it with Content-Type: application/json.',
  );
}

/** What went wrong reading the body, as the client should hear it. */
function bodyError(err: unknown, ctx: Context, limitBytes: number): Error {
  const e = err as { status?: number; type?: string; message?: string };
  const encoding = ctx.get('content-encoding').trim();
  switch (e?.type) {
    case 'entity.too.large':
      return new AppError(
        'payload_too_large',
        `The request body is too large: the limit is ${limitBytes} bytes${encoding ? ' (after decompression)' : ''}.`,
      );
    case 'entity.parse.failed':
      return new AppError('invalid_json', 'The request body is not valid JSON.');
    case 'request.size.invalid':
      return new AppError(
        'invalid_request',
        'The request body is shorter or longer than its Content-Length says.',
      );
  }
  if (e?.status === 415 && encoding) {
    return new AppError(
      'unsupported_media_type',
      `Content-Encoding "${encoding}" is not supported: send the body uncompressed, or as gzip, deflate or br.`,
    );
  }
  if (typeof e?.status === 'number') return err as Error;
  // zlib's errors carry no HTTP status: the bytes are not what Content-Encoding says they are.
  return new AppError(
    'invalid_request',
    encoding
      ? `The request body could not be decoded: it is not valid ${encoding} data (Content-Encoding: ${encoding}).`
      : 'The request body could not be read.',
    { cause: err },
  );
}

export function requestBody(opts: { limitBytes: number }): Middleware {
  const parse = bodyParser({
    enableTypes: ['json', 'form'],
    parsedMethods: PARSED_METHODS,
    jsonStrict: false,
    encoding: 'utf-8',
    jsonLimit: opts.limitBytes,
    formLimit: opts.limitBytes,
    onError: (err, ctx) => {
      throw bodyError(err, ctx, opts.limitBytes);
    },
  });
  return async (ctx, next) => {
    if (isApiPath(ctx.path) && !isSafeMethod(ctx.method)) requireJson(ctx);
    await parse(ctx, next);
  };
}
