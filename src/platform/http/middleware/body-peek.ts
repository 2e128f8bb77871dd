/**
 * Reads a small urlencoded request body WITHOUT consuming it: the bytes are pushed back onto the
 * request stream (Readable#unshift, synchronously, before the stream can emit 'end'), so the
 * next reader — oidc-provider's own body parser — sees the request exactly as it arrived.
 * Used by the middleware in front of the provider that must look at a parameter first.
 */
import type { IncomingMessage } from 'node:http';
import type { Context } from 'koa';

const MAX_BYTES = 16 * 1024;
const TIMEOUT_MS = 10_000;

/** Reads exactly `length` bytes, then puts them back; undefined (and nothing lost) on timeout/end/error. */
function readAndRestore(req: IncomingMessage, length: number): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const finish = (complete: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.off('readable', onReadable);
      req.off('end', onEnd);
      req.off('error', onError);
      const body = Buffer.concat(chunks, size);
      if (size && !req.readableEnded) req.unshift(body);
      resolve(complete ? body : undefined);
    };
    const onReadable = () => {
      let chunk: Buffer | null;
      while (size < length && (chunk = req.read() as Buffer | null) !== null) {
        chunks.push(chunk);
        size += chunk.length;
      }
      if (size >= length) finish(true);
    };
    const onEnd = () => finish(false);
    const onError = () => finish(false);
    const timer = setTimeout(() => finish(false), TIMEOUT_MS);
    req.on('readable', onReadable);
    req.on('end', onEnd);
    req.on('error', onError);
  });
}

/**
 * The parameters of a urlencoded POST body, left in place for the next reader. Undefined when the
 * request has no such body, no Content-Length, a body over 16 KiB, or has already been read.
 */
export async function peekForm(ctx: Context): Promise<URLSearchParams | undefined> {
  if (ctx.method !== 'POST' || !ctx.is('application/x-www-form-urlencoded')) return undefined;
  const length = Number(ctx.get('content-length'));
  if (!Number.isInteger(length) || length <= 0 || length > MAX_BYTES || !ctx.req.readable)
    return undefined;
  const body = await readAndRestore(ctx.req, length);
  return body ? new URLSearchParams(body.toString('utf8')) : undefined;
}

/**
 * Replaces a body that `peekForm` left in place (drop the buffered bytes and push the new ones
 * back in the same tick, so the stream cannot end in between) and corrects Content-Length.
 */
export function replaceForm(ctx: Context, params: URLSearchParams): void {
  const req = ctx.req;
  while (req.read() !== null) {
    /* drop the original bytes */
  }
  const body = Buffer.from(params.toString(), 'utf8');
  req.unshift(body);
  req.headers['content-length'] = String(body.length);
}
