/**
 * SSH private keys over REST (contract §3): the caller's keys (never the key material), an org
 * admin adding one for a member, and the audited uses of a key.
 */
import { z } from 'zod';
import { requiredString, type ApiRegistry } from '../../platform/http/api-registry.ts';
import { requirePrincipal } from '../../platform/auth/principal.ts';
import { requestInfo } from '../../platform/http/request-info.ts';
import { AppError } from '../../platform/errors/app-error.ts';
import type { AccountService } from '../../platform/directory/account-service.ts';
import type { OrganizationService } from '../../platform/directory/organization-service.ts';
import type { SshPrivateKeyService } from './ssh-private-key-service.ts';
import type { SudoGuard } from '../../platform/auth/sudo-service.ts';
import type { SshPrivateKey } from './ssh-private-key-repository.ts';
import type { AuditEvent } from '../../platform/directory/audit-repository.ts';

/** What anyone may see of a stored private key: its public half and labels, never the key. */
export const sshPrivateKeySchema = z.object({
  name: z.string(),
  description: z.string(),
  keyType: z.string(),
  bits: z.number().int(),
  fingerprint: z.string().describe('of the public half, SHA256:… as `ssh-keygen -l` prints it'),
  publicKey: z.string().describe('the public half as an authorized_keys line'),
  createdAt: z.date(),
  lastUsedAt: z.date().nullable(),
});

export const presentPrivateKey = (k: SshPrivateKey) => ({ ...k, lastUsedAt: k.lastUsedAt ?? null });

const useSchema = z.object({
  at: z.date(),
  type: z.string(),
  outcome: z.enum(['success', 'failure']),
  key: z.string(),
  client: z.string(),
  ip: z.string().optional(),
  details: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
});

export const presentUse = (e: AuditEvent) => ({
  ...e,
  key: String(e.details.name ?? ''),
  client: String(e.details.client ?? ''),
});

export const createBody = z.object({
  name: requiredString('is required')
    .min(1, 'is required')
    .max(64, 'is too long: at most 64 characters'),
  description: z.string().max(500).optional(),
  privateKey: requiredString('is required: paste the private key (OpenSSH or PEM)').max(
    32768,
    'is too long: more than 32768 characters, longer than any SSH private key; paste a single key',
  ),
  passphrase: z
    .string()
    .max(1024)
    .optional()
    .describe('Only for a passphrase-protected key: used once to decrypt it, never stored.'),
});

export function registerSshPrivateKeyRoutes(
  api: ApiRegistry,
  deps: {
    keys: SshPrivateKeyService;
    accounts: AccountService;
    organizations: OrganizationService;
    sudo: SudoGuard;
  },
): void {
  const { keys, accounts, organizations, sudo } = deps;
  const tags = ['SSH private keys'];

  api.add({
    method: 'get',
    path: '/api/ssh-private-keys',
    summary: 'Your stored SSH private keys (without the key material)',
    tags,
    response: { status: 200, schema: z.array(sshPrivateKeySchema) },
    handler: async (ctx) =>
      (await keys.list((await requirePrincipal(ctx)).account)).map(presentPrivateKey),
  });

  api.add({
    method: 'post',
    path: '/api/ssh-private-keys',
    summary: 'Store an SSH private key for the platform to use on your behalf',
    tags,
    description:
      'OpenSSH or PEM (PKCS#1, PKCS#8); Ed25519, ECDSA or RSA 2048–8192. A passphrase-protected key needs `passphrase`: Keyward decrypts it once and keeps it under its own envelope encryption. The key is never returned.',
    body: createBody,
    response: { status: 201, schema: sshPrivateKeySchema },
    handler: async (ctx, { body }) => {
      const principal = await requirePrincipal(ctx);
      await sudo.require(principal, 'store an SSH private key');
      return presentPrivateKey(
        await keys.create(principal.account, body, principal.account, requestInfo(ctx)),
      );
    },
  });

  api.add({
    method: 'delete',
    path: '/api/ssh-private-keys/:name',
    summary: 'Delete one of your stored SSH private keys',
    tags,
    params: z.object({ name: z.string().min(1).max(64) }),
    response: { status: 204 },
    handler: async (ctx, { params }) => {
      const principal = await requirePrincipal(ctx);
      await sudo.requireOfSessions(principal, 'delete an SSH private key');
      await keys.remove(principal.account, params.name, requestInfo(ctx));
    },
  });

  api.add({
    method: 'get',
    path: '/api/ssh-private-keys/:name/uses',
    summary: 'Who used one of your stored SSH private keys, and when',
    tags,
    params: z.object({ name: z.string().min(1).max(64) }),
    query: z.object({ limit: z.coerce.number().int().min(1).max(200).default(50) }),
    response: { status: 200, schema: z.array(useSchema) },
    handler: async (ctx, { params, query }) => {
      const { account } = await requirePrincipal(ctx);
      const all = await keys.uses(account, 200);
      return all
        .filter((e) => String(e.details.name ?? '').toLowerCase() === params.name.toLowerCase())
        .slice(0, query.limit)
        .map(presentUse);
    },
  });

  api.add({
    method: 'post',
    path: '/api/organizations/:org/users/:user/ssh-private-keys',
    summary: 'Store an SSH private key for a member of your organization (org admins)',
    tags,
    params: z.object({ org: z.string().min(1).max(100), user: z.string().min(1).max(100) }),
    body: createBody,
    response: { status: 201, schema: sshPrivateKeySchema },
    handler: async (ctx, { params, body }) => {
      const principal = await requirePrincipal(ctx);
      const org = await organizations.requireAdmin(params.org, principal.account);
      const user = params.user.includes('@') ? undefined : await accounts.findByLogin(params.user);
      const member =
        user &&
        (await organizations.membershipsOf(user.id)).some((m) => m.organization.id === org.id);
      if (!user || !member)
        throw new AppError('not_found', `No user "${params.user}" in organization "${org.name}".`);
      await sudo.require(principal, 'store an SSH private key');
      return presentPrivateKey(await keys.create(user, body, principal.account, requestInfo(ctx)));
    },
  });
}
