/**
 * Post/redirect/get for secrets shown once (new API keys and CLI tokens, recovery codes): the POST
 * seals the secret into a short-lived cookie (AES-256-GCM under a key derived from the app's cookie
 * keys, bound to the browser session's uid) and redirects; the GET that follows opens it, clears the
 * cookie and claims its id once (OnceClaims, an atomic `_id` insert), so the secret is shown on
 * exactly one page: a refresh, a second tab or a replayed cookie finds nothing. Nothing is stored
 * on the server but the claimed id.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import type { Context } from 'koa';
import type { OnceClaims } from '../store/once-marker-repository.ts';

const COOKIE = 'kw.once';
const LIFETIME_MS = 5 * 60_000;

export interface OneTimeSecrets {
  /** Carries `data` to the next account page this session opens. */
  put(ctx: Context, sessionUid: string, data: Record<string, unknown>): void;
  /** The data put by the previous request of this session, exactly once; undefined afterwards. */
  take(ctx: Context, sessionUid: string): Promise<Record<string, unknown> | undefined>;
}

function keyOf(ctx: Context): Buffer {
  const keys = ctx.app.keys as unknown as string[] | undefined;
  if (!keys?.length) throw new Error('one-time secrets need the app cookie keys');
  return Buffer.from(hkdfSync('sha256', keys[0], 'keyward', 'one-time page secret', 32));
}

export function oneTimeSecrets(once: OnceClaims, now: () => number = Date.now): OneTimeSecrets {
  const cookie = (ctx: Context, value: string | null) =>
    ctx.cookies.set(COOKIE, value, {
      httpOnly: true,
      sameSite: 'strict',
      secure: ctx.secure,
      path: '/account',
      overwrite: true,
      maxAge: value ? LIFETIME_MS : undefined,
    });
  return {
    put(ctx, sessionUid, data) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', keyOf(ctx), iv).setAAD(Buffer.from(sessionUid));
      const plain = JSON.stringify({
        id: randomBytes(16).toString('base64url'),
        exp: now() + LIFETIME_MS,
        data,
      });
      const sealed = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
      cookie(ctx, Buffer.concat([iv, cipher.getAuthTag(), sealed]).toString('base64url'));
    },
    async take(ctx, sessionUid) {
      const raw = ctx.cookies.get(COOKIE);
      if (!raw) return undefined;
      cookie(ctx, null);
      let opened: { id: string; exp: number; data: Record<string, unknown> };
      try {
        const buf = Buffer.from(raw, 'base64url');
        const decipher = createDecipheriv('aes-256-gcm', keyOf(ctx), buf.subarray(0, 12)).setAAD(
          Buffer.from(sessionUid),
        );
        decipher.setAuthTag(buf.subarray(12, 28));
        opened = JSON.parse(
          Buffer.concat([decipher.update(buf.subarray(28)), decipher.final()]).toString('utf8'),
        );
      } catch {
        return undefined; // another session's, tampered with, or from before a key rotation
      }
      if (!(opened.exp > now())) return undefined;
      return (await once.claim(`page-secret:${opened.id}`, new Date(opened.exp)))
        ? opened.data
        : undefined;
    },
  };
}
