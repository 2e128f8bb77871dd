/**
 * Device cookies (OWASP "Slow Down Online Guessing Attacks with Device Cookies"): after a
 * successful password sign-in the browser gets a signed, long-lived cookie naming the account
 * and a random device id. Sign-ins from that browser are throttled per device, not with the
 * account's failures from unknown clients, so an attacker guessing from elsewhere can slow
 * themselves down but never lock the owner out. The cookie is signed with the app's cookie keys
 * (Koa/keygrip), so it cannot be forged; it proves nothing by itself (the password is still
 * checked), it only chooses the throttle bucket.
 */
import { randomBytes } from 'node:crypto';
import type { Context } from 'koa';
import type { SignInClient } from '../../platform/directory/account-service.ts';

export const DEVICE_COOKIE = 'kw.device';
const MAX_AGE_MS = 365 * 86400_000;

function decode(value: string | undefined): SignInClient['device'] {
  if (!value) return undefined;
  try {
    const parsed = JSON.parse(Buffer.from(value, 'base64url').toString('utf8')) as {
      a?: unknown;
      d?: unknown;
    };
    return typeof parsed.a === 'string' && typeof parsed.d === 'string'
      ? { accountId: parsed.a, deviceId: parsed.d }
      : undefined;
  } catch {
    return undefined;
  }
}

/** The signing-in client: its IP and, when its device cookie is genuine, that cookie. */
export function signInClient(ctx: Context): SignInClient {
  return { ip: ctx.ip, device: decode(ctx.cookies.get(DEVICE_COOKIE, { signed: true })) };
}

/** Remembers this browser for the account it just signed in to (keeping its device id when it had one). */
export function rememberDevice(ctx: Context, accountId: string): void {
  const current = decode(ctx.cookies.get(DEVICE_COOKIE, { signed: true }));
  const deviceId =
    current?.accountId === accountId ? current.deviceId : randomBytes(16).toString('base64url');
  const value = Buffer.from(JSON.stringify({ a: accountId, d: deviceId })).toString('base64url');
  ctx.cookies.set(DEVICE_COOKIE, value, {
    signed: true,
    httpOnly: true,
    sameSite: 'lax',
    maxAge: MAX_AGE_MS,
    overwrite: true,
    secure: ctx.secure,
  });
}
