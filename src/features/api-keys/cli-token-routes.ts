/**
 * `/api/auth/*` (contract §2.1): who is calling — with a browser session, an API key, a CLI
 * token or an OAuth access token — and the deprecated CLI token endpoint.
 */
import { z } from 'zod';
import { AppError } from '../../platform/errors/app-error.ts';
import type { OrganizationService } from '../../platform/directory/organization-service.ts';
import type { PersonalCredentialService } from './api-key-service.ts';
import type { ApiRegistry } from '../../platform/http/api-registry.ts';
import { requirePrincipal } from '../../platform/auth/principal.ts';
import { requestInfo } from '../../platform/http/request-info.ts';

const authSession = z.object({
  id: z.string(),
  username: z.string(),
  safeUsername: z.string(),
  name: z.string(),
  email: z.string(),
  admin: z.boolean(),
  billingAdmin: z.boolean(),
  partner: z.boolean(),
  organization: z.string(),
  organizationDisplayName: z.string().optional(),
  organizationAdmin: z.boolean(),
  organizationOwner: z.boolean(),
  organizationRoles: z.array(z.string()).nullable(),
  previews: z.array(z.string()).nullable(),
  sidebarOptions: z.array(z.string()).nullable(),
  allocationSystem: z.enum(['legacy', 'flexible']),
  passwordUpdatedAt: z.date().optional(),
});

/** A JSON string body (the registry would send a bare string as text). */
const JSON_STRING = { status: 200, contentType: 'application/json', description: 'A JSON string' };

/** `J.Doe` → `jdoe`: the username reduced to lowercase letters and digits. */
export const safeUsername = (username: string) => username.toLowerCase().replace(/[^a-z0-9]/g, '');

export function registerAuthRoutes(
  api: ApiRegistry,
  deps: { organizations: OrganizationService; credentials: PersonalCredentialService },
): void {
  const { organizations, credentials } = deps;
  const tags = ['Authentication'];

  api.add({
    method: 'get',
    path: '/api/auth/whoami',
    summary: 'The caller as a raw subject string, e.g. user:jdoe',
    tags,
    response: {
      status: 200,
      contentType: 'text/plain; charset=utf-8',
      description: 'The subject (raw body)',
    },
    handler: async (ctx) => `user:${(await requirePrincipal(ctx)).account.username}`,
  });

  const session = async (
    ctx: Parameters<typeof requirePrincipal>[0],
  ): Promise<z.infer<typeof authSession>> => {
    const { account } = await requirePrincipal(ctx);
    const membership = await organizations.primaryOf(account.id);
    return {
      id: account.id,
      username: account.username,
      safeUsername: safeUsername(account.username),
      name: account.displayName,
      email: account.email,
      admin: account.platformAdmin,
      billingAdmin: false,
      partner: false,
      organization: membership?.organization.name ?? '',
      organizationDisplayName: membership?.organization.displayName,
      organizationAdmin: membership?.admin ?? false,
      organizationOwner: false,
      organizationRoles: membership?.roles ?? null,
      previews: [],
      sidebarOptions: null,
      allocationSystem: 'legacy',
      passwordUpdatedAt: account.passwordUpdatedAt,
    };
  };

  api.add({
    method: 'get',
    path: '/api/auth/session',
    summary: 'The caller as an AuthSession',
    tags,
    response: { status: 200, schema: authSession },
    handler: session,
  });

  api.add({
    method: 'get',
    path: '/api/v2/auth/session',
    summary: 'The caller as an AuthSession (deprecated alias)',
    tags,
    response: { status: 200, schema: authSession },
    handler: session,
  });

  api.add({
    method: 'get',
    path: '/api/auth/whoami/organization',
    summary: "The name of the caller's organization (JSON string)",
    tags,
    response: JSON_STRING,
    handler: async (ctx) => {
      const { account } = await requirePrincipal(ctx);
      const membership = await organizations.primaryOf(account.id);
      if (!membership) throw new AppError('not_found', 'You are not a member of any organization.');
      return JSON.stringify(membership.organization.name);
    },
  });

  api.add({
    method: 'get',
    path: '/api/auth/token',
    summary: 'A short-term CLI token (deprecated: use pw auth login, or an API key for automation)',
    tags,
    description:
      "Returns a new pwut_ token as a JSON string. ttl is in hours (1–24, default 24 or your organization's default). " +
      'Not available to CLI tokens themselves, so a token cannot renew itself forever.',
    query: z.object({
      ttl: z.coerce
        .number({ error: 'must be a whole number of hours' })
        .int('must be a whole number of hours')
        .min(1, 'must be 1 to 24 hours')
        .max(24, 'must be 1 to 24 hours')
        .optional(),
    }),
    response: JSON_STRING,
    handler: async (ctx, { query }) => {
      const principal = await requirePrincipal(ctx, ['session', 'apikey', 'oauth']);
      const { plaintext } = await credentials.createToken(principal, query.ttl, requestInfo(ctx));
      ctx.set('Cache-Control', 'no-store');
      return JSON.stringify(plaintext);
    },
  });
}
