import { z } from 'zod';
import { AppError } from '../../platform/errors/app-error.ts';
import type { ApiRegistry } from '../../platform/http/api-registry.ts';
import type { OrganizationService } from '../../platform/directory/organization-service.ts';
import {
  PLATFORM_SCOPE,
  orgScope,
  type PolicyService,
} from '../../platform/directory/policy-service.ts';
import type { AuditService } from '../../platform/directory/audit-service.ts';
import { requirePrincipal } from '../../platform/auth/principal.ts';
import { requestInfo } from '../../platform/http/request-info.ts';

const policyMap = z.record(
  z.string(),
  z.object({
    level: z.enum(['platform', 'organization', 'default']),
    name: z.string(),
    value: z.unknown(),
    updatedAt: z.date().optional(),
  }),
);
const orgParams = z.object({ org: z.string().min(1).max(100) });
const orgPolicyParams = orgParams.extend({ name: z.string().min(1).max(100) });
const nameParams = z.object({ name: z.string().min(1).max(100) });

export function registerPolicyRoutes(
  api: ApiRegistry,
  deps: { policies: PolicyService; organizations: OrganizationService; audit: AuditService },
): void {
  const { policies, organizations, audit } = deps;
  const tags = ['Policies'];

  api.add({
    method: 'get',
    path: '/api/organizations/:org/policies',
    summary: 'Effective policies of an organization',
    tags,
    params: orgParams,
    response: { status: 200, schema: policyMap },
    handler: async (ctx, { params }) => {
      const org = await organizations.requireAdmin(
        params.org,
        (await requirePrincipal(ctx)).account,
      );
      return policies.effectiveAll(org.id);
    },
  });

  api.add({
    method: 'post',
    path: '/api/organizations/:org/policies/:name',
    summary: 'Set an organization policy (the body is the raw JSON value)',
    tags,
    params: orgPolicyParams,
    body: z.unknown(),
    response: { status: 200, schema: policyMap },
    handler: async (ctx, { params, body }) => {
      const { account } = await requirePrincipal(ctx);
      const org = await organizations.requireAdmin(params.org, account);
      if (policies.definition(params.name).platformAdminOnly && !account.platformAdmin) {
        throw new AppError('forbidden', `Only platform admins can change "${params.name}".`);
      }
      const value = await policies.set(orgScope(org.id), params.name, body, account.id);
      await audit.record({
        type: 'policy.set',
        accountId: account.id,
        request: requestInfo(ctx),
        details: { organization: org.name, policy: params.name, value: JSON.stringify(value) },
      });
      return policies.effectiveAll(org.id);
    },
  });

  api.add({
    method: 'delete',
    path: '/api/organizations/:org/policies/:name',
    summary: 'Clear an organization policy (Not set)',
    tags,
    params: orgPolicyParams,
    response: { status: 204 },
    handler: async (ctx, { params }) => {
      const { account } = await requirePrincipal(ctx);
      const org = await organizations.requireAdmin(params.org, account);
      if (policies.definition(params.name).platformAdminOnly && !account.platformAdmin) {
        throw new AppError('forbidden', `Only platform admins can change "${params.name}".`);
      }
      await policies.clear(orgScope(org.id), params.name);
      await audit.record({
        type: 'policy.cleared',
        accountId: account.id,
        request: requestInfo(ctx),
        details: { organization: org.name, policy: params.name },
      });
    },
  });

  const requirePlatformAdmin = async (ctx: Parameters<typeof requirePrincipal>[0]) => {
    const p = await requirePrincipal(ctx);
    if (!p.account.platformAdmin)
      throw new AppError('forbidden', 'This is a platform-admin only route.');
    return p.account;
  };

  api.add({
    method: 'get',
    path: '/api/platform/policies',
    summary: 'Platform-level policies',
    tags,
    response: { status: 200, schema: policyMap },
    handler: async (ctx) => {
      await requirePlatformAdmin(ctx);
      return policies.effectiveAll();
    },
  });

  api.add({
    method: 'post',
    path: '/api/platform/policies/:name',
    summary: 'Set a platform policy (wins over organizations)',
    tags,
    params: nameParams,
    body: z.unknown(),
    response: { status: 200, schema: policyMap },
    handler: async (ctx, { params, body }) => {
      const account = await requirePlatformAdmin(ctx);
      const value = await policies.set(PLATFORM_SCOPE, params.name, body, account.id);
      await audit.record({
        type: 'policy.set',
        accountId: account.id,
        request: requestInfo(ctx),
        details: { scope: 'platform', policy: params.name, value: JSON.stringify(value) },
      });
      return policies.effectiveAll();
    },
  });

  api.add({
    method: 'delete',
    path: '/api/platform/policies/:name',
    summary: 'Clear a platform policy',
    tags,
    params: nameParams,
    response: { status: 204 },
    handler: async (ctx, { params }) => {
      const account = await requirePlatformAdmin(ctx);
      await policies.clear(PLATFORM_SCOPE, params.name);
      await audit.record({
        type: 'policy.cleared',
        accountId: account.id,
        request: requestInfo(ctx),
        details: { scope: 'platform', policy: params.name },
      });
    },
  });
}
