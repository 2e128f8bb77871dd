/**
 * REST for an organization's sign-in methods (contract §4 "Auth methods"), for its admins, and for
 * linking members' external identities. Secrets are write-only: the output schemas have no secret
 * fields, so the registry strips them from every answer.
 */
import { z } from 'zod';
import type { ApiRegistry } from '../../platform/http/api-registry.ts';
import { requirePrincipal } from '../../platform/auth/principal.ts';
import { requestInfo } from '../../platform/http/request-info.ts';
import type { OrganizationService } from '../../platform/directory/organization-service.ts';
import type { SignInMethodService } from './sign-in-method-service.ts';
import type { IdentityLinks } from './identity-links.ts';
import type { LdapSettings } from './ldap-directory.ts';
import {
  authMethodOut,
  externalIdentityIn,
  externalIdentityOut,
  ldapConnectionTest,
  ldapInput,
  ldapOut,
  ldapPatch,
  ldapSavedConnectionTest,
  oidcInput,
  oidcOut,
  oidcPatch,
} from './schema.ts';

const org = z.object({ organization: z.string().min(1).max(100) });
const named = org.extend({ authName: z.string().min(1).max(100) });
const member = org.extend({ username: z.string().min(1).max(320) });
const memberLink = member.extend({
  method: z.string().min(1).max(63),
  externalId: z.string().min(1).max(500),
});

export function registerSignInMethodRoutes(
  api: ApiRegistry,
  deps: { service: SignInMethodService; links: IdentityLinks; organizations: OrganizationService },
): void {
  const { service, links, organizations } = deps;
  const tags = ['Auth methods'];
  const base = '/api/organizations/:organization';
  const admin = async (ctx: Parameters<typeof requirePrincipal>[0], name: string) => {
    const { account } = await requirePrincipal(ctx);
    return { account, org: await organizations.requireAdmin(name, account) };
  };

  api.add({
    method: 'get',
    path: `${base}/auth`,
    summary: "The organization's sign-in methods",
    tags,
    params: org,
    response: { status: 200, schema: z.array(authMethodOut) },
    handler: async (ctx, { params }) => {
      const { org: o } = await admin(ctx, params.organization);
      return (await service.list(o.id)).map((m) => service.view(m));
    },
  });

  api.add({
    method: 'post',
    path: `${base}/auth-methods/password`,
    summary: 'Add password sign-in as an explicit method',
    tags,
    params: org,
    response: { status: 200, schema: authMethodOut },
    handler: async (ctx, { params }) => {
      const { account, org: o } = await admin(ctx, params.organization);
      return service.view(await service.createPassword(o, account, requestInfo(ctx)));
    },
  });

  api.add({
    method: 'post',
    path: `${base}/auth-methods/oidc`,
    summary: 'Add an upstream OpenID Connect identity provider',
    tags,
    params: org,
    body: oidcInput,
    response: { status: 200, schema: oidcOut },
    handler: async (ctx, { params, body }) => {
      const { account, org: o } = await admin(ctx, params.organization);
      return service.view(await service.createOidc(o, body, account, requestInfo(ctx)));
    },
  });

  api.add({
    method: 'get',
    path: `${base}/auth-methods/oidc/:authName`,
    summary: 'An OIDC sign-in method (secrets are never returned)',
    tags,
    params: named,
    response: { status: 200, schema: oidcOut },
    handler: async (ctx, { params }) => {
      const { org: o } = await admin(ctx, params.organization);
      return service.view(await service.require(o, params.authName, 'oidc'));
    },
  });

  api.add({
    method: 'patch',
    path: `${base}/auth-methods/oidc/:authName`,
    summary: 'Change an OIDC sign-in method (blank secrets keep the stored ones)',
    tags,
    params: named,
    body: oidcPatch,
    response: { status: 200, schema: oidcOut },
    handler: async (ctx, { params, body }) => {
      const { account, org: o } = await admin(ctx, params.organization);
      return service.view(
        await service.patchOidc(o, params.authName, body, account, requestInfo(ctx)),
      );
    },
  });

  api.add({
    method: 'post',
    path: `${base}/auth-methods/ldap`,
    summary: 'Add an LDAP directory (the connection is verified before saving)',
    tags,
    params: org,
    body: ldapInput,
    response: { status: 200, schema: ldapOut },
    handler: async (ctx, { params, body }) => {
      const { account, org: o } = await admin(ctx, params.organization);
      return service.view(await service.createLdap(o, body, account, requestInfo(ctx)));
    },
  });

  api.add({
    method: 'post',
    path: `${base}/auth-methods/ldap/test`,
    summary: 'Test LDAP settings before saving them',
    tags,
    params: org,
    body: ldapConnectionTest,
    response: { status: 204 },
    handler: async (ctx, { params, body }) => {
      const { account } = await admin(ctx, params.organization);
      const { username, password, bindPassword, name: _name, ...settings } = body;
      await service.testLdap(settings as LdapSettings, bindPassword, account, {
        username,
        password,
      });
    },
  });

  api.add({
    method: 'get',
    path: `${base}/auth-methods/ldap/:authName`,
    summary: 'An LDAP sign-in method (the bind password is never returned)',
    tags,
    params: named,
    response: { status: 200, schema: ldapOut },
    handler: async (ctx, { params }) => {
      const { org: o } = await admin(ctx, params.organization);
      return service.view(await service.require(o, params.authName, 'ldap'));
    },
  });

  api.add({
    method: 'patch',
    path: `${base}/auth-methods/ldap/:authName`,
    summary: 'Change an LDAP sign-in method (a blank bind password keeps the stored one)',
    tags,
    params: named,
    body: ldapPatch,
    response: { status: 200, schema: ldapOut },
    handler: async (ctx, { params, body }) => {
      const { account, org: o } = await admin(ctx, params.organization);
      return service.view(
        await service.patchLdap(o, params.authName, body, account, requestInfo(ctx)),
      );
    },
  });

  api.add({
    method: 'post',
    path: `${base}/auth-methods/ldap/:authName/test`,
    summary: 'Test a saved LDAP method',
    tags,
    params: named,
    body: ldapSavedConnectionTest,
    response: { status: 204 },
    handler: async (ctx, { params, body }) => {
      const { org: o } = await admin(ctx, params.organization);
      await service.testSavedLdap(o, params.authName, body);
    },
  });

  api.add({
    method: 'delete',
    path: `${base}/auth-methods/:authName`,
    summary: 'Delete a sign-in method and the external identities linked through it',
    tags,
    params: named,
    response: { status: 204 },
    handler: async (ctx, { params }) => {
      const { account, org: o } = await admin(ctx, params.organization);
      await service.delete(o, params.authName, account, requestInfo(ctx));
    },
  });

  api.add({
    method: 'get',
    path: `${base}/users/:username/external-ids`,
    summary: "A member's linked external identities",
    tags,
    params: member,
    response: { status: 200, schema: z.array(externalIdentityOut) },
    handler: async (ctx, { params }) => {
      const { org: o } = await admin(ctx, params.organization);
      const account = await links.memberOf(o, params.username);
      return (await links.linksOf(account.id))
        .filter((x) => x.link.organizationId === o.id)
        .map(({ link, method }) => ({
          method: method.name,
          methodType: method.type,
          externalId: link.externalId,
          createdAt: link.createdAt,
        }));
    },
  });

  api.add({
    method: 'post',
    path: `${base}/users/:username/external-ids`,
    summary: 'Link an external identity (method, external id) to a member',
    tags,
    params: member,
    body: externalIdentityIn,
    response: { status: 204 },
    handler: async (ctx, { params, body }) => {
      const { account, org: o } = await admin(ctx, params.organization);
      await links.link(o, params.username, body.method, body.externalId, account, requestInfo(ctx));
    },
  });

  api.add({
    method: 'delete',
    path: `${base}/users/:username/external-ids/:method/:externalId`,
    summary: 'Unlink an external identity from a member',
    tags,
    params: memberLink,
    response: { status: 204 },
    handler: async (ctx, { params }) => {
      const { account, org: o } = await admin(ctx, params.organization);
      await links.unlink(
        o,
        params.username,
        params.method,
        params.externalId,
        account,
        requestInfo(ctx),
      );
    },
  });
}
