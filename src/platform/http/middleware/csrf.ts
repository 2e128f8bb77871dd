/**
 * CSRF protection for our forms: a random secret in a signed, HttpOnly, SameSite=Strict cookie,
 * and in each form an HMAC of that secret over the form's scope (e.g. the interaction uid).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Context } from 'koa';
import { AppError } from '../../errors/app-error.ts';

const COOKIE = 'kw.csrf';

function mac(secret: string, scope: string): string {
  return createHmac('sha256', secret).update(scope).digest('base64url');
}

export function issueCsrfToken(ctx: Context, scope: string): string {
  let secret = ctx.cookies.get(COOKIE, { signed: true });
  if (!secret) {
    secret = randomBytes(32).toString('base64url');
    ctx.cookies.set(COOKIE, secret, {
      signed: true,
      httpOnly: true,
      sameSite: 'strict',
      secure: ctx.secure,
      path: '/',
    });
  }
  return mac(secret, scope);
}

export function verifyCsrfToken(ctx: Context, scope: string, token: unknown): void {
  const secret = ctx.cookies.get(COOKIE, { signed: true });
  const expected = secret ? Buffer.from(mac(secret, scope)) : undefined;
  const given = typeof token === 'string' ? Buffer.from(token) : undefined;
  if (
    !expected ||
    !given ||
    expected.length !== given.length ||
    !timingSafeEqual(expected, given)
  ) {
    throw new AppError(
      'csrf_failed',
      'This form has expired or did not come from this site. Reload the page and try again.',
    );
  }
}
