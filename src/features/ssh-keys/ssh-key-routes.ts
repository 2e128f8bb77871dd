/**
 * SSH public keys over REST (contract §3): the caller's own keys, and the system-level
 * authorized_keys answer for sshd's AuthorizedKeysCommand on clusters.
 */
import { z } from 'zod';
import { requiredString, type ApiRegistry } from '../../platform/http/api-registry.ts';
import { requirePrincipal } from '../../platform/auth/principal.ts';
import {
  hasSharedSecret,
  requireClientScope,
  SCOPE_AUTHORIZED_KEYS,
  type ClientTokens,
} from '../../platform/auth/client-credentials.ts';
import { requestInfo } from '../../platform/http/request-info.ts';
import type { SshKeyService } from './ssh-key-service.ts';
import type { SudoGuard } from '../../platform/auth/sudo-service.ts';
import type { SshPublicKey } from './ssh-public-key-repository.ts';
import {
  authorizedKeyLine,
  MAX_PUBLIC_KEY_TEXT,
  PUBLIC_KEY_TOO_LONG,
} from '../../platform/ssh/ssh-key-parser.ts';

export interface AuthorizedKeysAccess {
  public: boolean;
  secret?: string;
}

export const sshPublicKeySchema = z.object({
  id: z.string(),
  title: z.string(),
  key: z.string().describe('authorized_keys line: type, base64 key, comment'),
  createdAt: z.date(),
  type: z.string(),
  bits: z.number().int(),
  fingerprint: z.string().describe('SHA256:… as `ssh-keygen -l` prints it'),
  comment: z.string(),
  expiresAt: z.date().nullable(),
  expired: z.boolean(),
  lastUsedAt: z.date().nullable(),
});

/** `YYYY-MM-DD` means "through the end of that day (UTC)"; a full ISO timestamp is taken as is. */
export function parseExpiry(value: string | undefined): Date | undefined {
  if (!value) return undefined;
  if (/^\d{4}-\d{2}-\d{2}$/.test(value))
    return new Date(Date.parse(`${value}T00:00:00Z`) + 86400_000);
  return new Date(value);
}

const expirySchema = z.union([z.iso.date(), z.iso.datetime({ offset: true })], {
  error: 'must be a date (YYYY-MM-DD) or an ISO 8601 date-time',
});

export function presentPublicKey(k: SshPublicKey, keys: SshKeyService) {
  return {
    ...k,
    key: authorizedKeyLine(k.type, k.blob, k.comment),
    expiresAt: k.expiresAt ?? null,
    expired: keys.isExpired(k),
    lastUsedAt: k.lastUsedAt ?? null,
  };
}

export function registerSshKeyRoutes(
  api: ApiRegistry,
  deps: {
    keys: SshKeyService;
    sudo: SudoGuard;
    clientTokens: ClientTokens;
    access: AuthorizedKeysAccess;
  },
): void {
  const { keys, sudo, clientTokens, access } = deps;

  api.add({
    method: 'get',
    path: '/api/ssh-public-keys',
    summary: 'Your SSH public keys',
    tags: ['SSH keys'],
    response: { status: 200, schema: z.array(sshPublicKeySchema) },
    handler: async (ctx) => {
      const { account } = await requirePrincipal(ctx);
      return (await keys.list(account)).map((k) => presentPublicKey(k, keys));
    },
  });

  api.add({
    method: 'post',
    path: '/api/ssh-public-keys',
    summary: 'Add an SSH public key for cluster login',
    tags: ['SSH keys'],
    description:
      'Accepts ssh-ed25519, ecdsa-sha2-nistp256/384/521, sk-ssh-ed25519@openssh.com, sk-ecdsa-sha2-nistp256@openssh.com and ssh-rsa (≥ 2048 bits), one key per request. A key registered to any account is refused.',
    body: z.object({
      title: z.string().max(100).optional(),
      key: requiredString('is required: paste the public key (one line from the .pub file)').max(
        MAX_PUBLIC_KEY_TEXT,
        PUBLIC_KEY_TOO_LONG,
      ),
      expiresAt: expirySchema.optional(),
    }),
    response: { status: 200, schema: sshPublicKeySchema },
    handler: async (ctx, { body }) => {
      const principal = await requirePrincipal(ctx);
      await sudo.require(principal, 'add an SSH key');
      const key = await keys.add(
        principal.account,
        { title: body.title, key: body.key, expiresAt: parseExpiry(body.expiresAt) },
        requestInfo(ctx),
      );
      return presentPublicKey(key, keys);
    },
  });

  api.add({
    method: 'delete',
    path: '/api/ssh-public-keys/:id',
    summary: 'Delete one of your SSH public keys',
    tags: ['SSH keys'],
    params: z.object({ id: z.string().min(1).max(100) }),
    response: { status: 204 },
    handler: async (ctx, { params }) => {
      const principal = await requirePrincipal(ctx);
      await sudo.requireOfSessions(principal, 'delete an SSH key');
      await keys.remove(principal.account, params.id, requestInfo(ctx));
    },
  });

  api.add({
    method: 'get',
    path: '/api/users/:username/ssh-public-keys',
    summary: "A user's authorized_keys lines, for sshd's AuthorizedKeysCommand",
    tags: ['SSH keys'],
    description: `System-level. text/plain, one authorized_keys line per valid, unexpired key; an empty body for unknown or disabled users. ${access.public ? 'Public on this deployment.' : `Needs the configured cluster shared secret or a client_credentials token with scope "${SCOPE_AUTHORIZED_KEYS}", as Bearer.`} Optional \`fingerprint\` (sshd's %f) records the key's last use.`,
    security: access.public ? [] : ['bearer'],
    params: z.object({ username: z.string().min(1).max(256) }),
    query: z.object({ fingerprint: z.string().max(100).optional() }),
    response: { status: 200, contentType: 'text/plain; charset=utf-8' },
    handler: async (ctx, { params, query }) => {
      if (!access.public && !hasSharedSecret(ctx, access.secret))
        await requireClientScope(ctx, clientTokens, SCOPE_AUTHORIZED_KEYS);
      ctx.set('Cache-Control', 'no-store');
      const fingerprint = query.fingerprint?.replace(/ /g, '+');
      return keys.authorizedKeys(params.username, fingerprint);
    },
  });
}
