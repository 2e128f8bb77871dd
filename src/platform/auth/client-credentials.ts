/**
 * Machine callers that act for no user: a confidential OAuth client holding a client_credentials
 * access token with a dedicated scope (the platform, clusters), or — for sshd's
 * AuthorizedKeysCommand only — a configured shared secret. Neither is a user principal.
 * A client_credentials token bound to a key (DPoP) works only with a proof of it (dpop-proof.ts).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Context } from 'koa';
import type Provider from 'oidc-provider';
import { AppError } from '../errors/app-error.ts';
import type { DpopProofs } from './dpop-proof.ts';

/** sshd on clusters: read users' authorized_keys. */
export const SCOPE_AUTHORIZED_KEYS = 'ssh-authorized-keys';
/** The platform: sign with users' stored SSH private keys (the key stays in Keyward). */
export const SCOPE_PRIVATE_KEYS_SIGN = 'ssh-private-keys:sign';
/** The platform: read users' stored SSH private keys (decrypted). */
export const SCOPE_PRIVATE_KEYS_READ = 'ssh-private-keys:read';

export interface ClientCaller {
  clientId: string;
}

/** What checks a client_credentials token: the provider's models and DPoP proofs. */
export interface ClientTokens {
  provider: Provider;
  dpop: DpopProofs;
}

const challenge = (scope: string, error?: string) => ({
  'WWW-Authenticate': `Bearer realm="keyward", scope="${scope}"${error ? `, error="${error}"` : ''}`,
});

export function bearerToken(ctx: Context): string | undefined {
  const m = /^Bearer[ ]+([\x21-\x7e]+)\s*$/i.exec(ctx.get('authorization'));
  return m?.[1];
}

/** An access token sent as Bearer or, bound to a key, as DPoP. */
function presentedToken(ctx: Context): { scheme: 'bearer' | 'dpop'; token: string } | undefined {
  const m = /^(Bearer|DPoP)[ ]+([\x21-\x7e]+)\s*$/i.exec(ctx.get('authorization'));
  return m ? { scheme: m[1].toLowerCase() as 'bearer' | 'dpop', token: m[2] } : undefined;
}

/**
 * The OAuth client behind a client_credentials token carrying `scope`. The client must also be
 * registered with that scope: oidc-provider only checks scopes it knows as its own.
 */
export async function requireClientScope(
  ctx: Context,
  { provider, dpop }: ClientTokens,
  scope: string,
): Promise<ClientCaller> {
  const presented = presentedToken(ctx);
  if (!presented) {
    throw new AppError(
      'unauthenticated',
      `This route needs a platform client's access token (client_credentials grant with scope "${scope}") as Bearer (or DPoP).`,
      { headers: challenge(scope) },
    );
  }
  const value = presented.token;
  const token =
    value.length <= 512
      ? await provider.ClientCredentials.find(value).catch(() => undefined)
      : undefined;
  if (!token || token.isExpired) {
    throw new AppError(
      'unauthenticated',
      'The access token is not valid or has expired: only client_credentials tokens of platform clients are accepted here.',
      { headers: challenge(scope, 'invalid_token') },
    );
  }
  await dpop.checkResource(ctx, presented, token.jkt);
  const client = await provider.Client.find(token.clientId!);
  const granted = new Set((token.scope ?? '').split(' '));
  const registered = new Set((client?.scope ?? '').split(' '));
  const audience = (token as unknown as { aud?: unknown }).aud;
  if (!client || !granted.has(scope) || !registered.has(scope) || audience !== undefined) {
    throw new AppError(
      'forbidden',
      `The access token does not carry the "${scope}" scope of a client registered for it.`,
      { headers: challenge(scope, 'insufficient_scope') },
    );
  }
  return { clientId: client.clientId };
}

const digest = (s: string) => createHash('sha256').update(s).digest();

/** Whether the request carries the configured shared secret (compared in constant time). */
export function hasSharedSecret(ctx: Context, secret: string | undefined): boolean {
  const value = bearerToken(ctx);
  return !!secret && !!value && timingSafeEqual(digest(value), digest(secret));
}
