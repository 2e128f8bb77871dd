/**
 * The account area's pages of the sign-in methods: a person's linked identities (under their
 * profile), and, for organization admins, the organization's sign-in methods with each member's
 * links (link / unlink by hand).
 */
import type { Context } from 'koa';
import type { FeatureContext } from '../../platform/feature.ts';
import type { Principal } from '../../platform/auth/principal.ts';
import { AppError } from '../../platform/errors/app-error.ts';
import { requestInfo } from '../../platform/http/request-info.ts';
import type { AccountService } from '../../platform/directory/account-service.ts';
import type { AuditService } from '../../platform/directory/audit-service.ts';
import type { OrganizationService } from '../../platform/directory/organization-service.ts';
import type { SignInMethodService } from './sign-in-method-service.ts';
import type { IdentityLinks } from './identity-links.ts';
import { registerMethodAdminPages } from './method-admin-pages.ts';

const DONE: Record<string, string> = {
  linked: 'Identity linked.',
  unlinked: 'Identity unlinked.',
  created: 'Sign-in method added.',
  updated: 'Sign-in method saved.',
  deleted: 'Sign-in method deleted, and the identities linked through it.',
};

export function registerSignInMethodAccountPages(
  { router, nav, kit }: Pick<FeatureContext, 'router' | 'nav' | 'kit'>,
  deps: {
    service: SignInMethodService;
    links: IdentityLinks;
    organizations: OrganizationService;
    accounts: AccountService;
    audit: AuditService;
    /** Keyward's redirect URI at an upstream OIDC provider (shown on the OIDC form). */
    callbackUrl: string;
  },
): void {
  const { service, links: identityLinks, organizations, accounts } = deps;
  // Shown only to people with a linked identity, and to administrators: the documented account structure stays as it is for everyone else.
  nav.add({
    href: '/account/identities',
    label: 'Linked identities',
    group: 'Account',
    order: 40,
    visible: async (p) => (await identityLinks.linksOf(p.account.id)).length > 0,
  });
  nav.add({
    href: '/account/admin/sign-in-methods',
    label: 'Sign-in methods',
    group: 'Administration',
    visible: async (p) =>
      p.account.platformAdmin || (await organizations.administeredBy(p.account.id)).length > 0,
  });
  kit.profileFacts.push(async (accountId) =>
    (await identityLinks.linksOf(accountId)).map(({ link, method }) => ({
      label: `${method.displayName || method.name} identity`,
      value: link.externalId,
      href: '/account/identities',
    })),
  );

  router.get('/account/identities', async (ctx) => {
    const p = await kit.signedIn(ctx);
    if (!p) return;
    const links = await identityLinks.linksOf(p.account.id);
    kit.render(ctx, p, 'sign-in-methods/identities.njk', {
      identities: links.map(({ link, method }) => ({
        method: method.displayName || method.name,
        type: method.type.toUpperCase(),
        externalId: link.externalId,
        linkedAt: link.createdAt.toISOString().slice(0, 16).replace('T', ' '),
      })),
    });
  });

  async function renderAdmin(
    ctx: Context,
    p: Principal,
    extra: { error?: string; flash?: string } = {},
  ) {
    const orgs = await organizations.administeredBy(p.account.id);
    const org = orgs.find((o) => o.name === ctx.query.org || o.name === ctx.params.org) ?? orgs[0];
    if (!org) return kit.render(ctx, p, 'sign-in-methods/admin.njk', { org: undefined, ...extra });
    const methods = await service.list(org.id);
    const members = await Promise.all(
      (await organizations.members(org.id)).map(async (m) => {
        const account = await accounts.findById(m.accountId);
        if (!account) return undefined;
        const links = (await identityLinks.linksOf(account.id)).filter(
          (x) => x.link.organizationId === org.id,
        );
        return {
          username: account.username,
          links: links.map((x) => ({ method: x.method.name, externalId: x.link.externalId })),
        };
      }),
    );
    kit.render(ctx, p, 'sign-in-methods/admin.njk', {
      org,
      orgs,
      methods: methods.map((m) => ({
        ...m,
        skipMfa: m.settings.skipMfaVerification === true,
        jit: m.settings.allowNewUserCreation === true,
        linkedMembers: members.filter((u) => u?.links.some((l) => l.method === m.name)).length,
      })),
      linkable: methods.filter((m) => m.type !== 'password'),
      members: members.filter(Boolean),
      ...extra,
    });
  }

  router.get('/account/admin/sign-in-methods', async (ctx) => {
    const p = await kit.signedIn(ctx);
    if (p) await renderAdmin(ctx, p, { flash: DONE[String(ctx.query.done)] });
  });
  registerMethodAdminPages(
    { router, kit },
    { service, organizations, renderList: renderAdmin, callbackUrl: deps.callbackUrl },
  );

  for (const action of ['link', 'unlink'] as const) {
    router.post(`/account/admin/sign-in-methods/:org/${action}`, async (ctx) => {
      const p = await kit.signedIn(ctx);
      if (!p) return;
      const body = kit.form(ctx, p);
      const field = (k: string) => (typeof body[k] === 'string' ? (body[k] as string).trim() : '');
      try {
        const org = await organizations.requireAdmin(ctx.params.org, p.account);
        if (!field('username') || !field('method') || !field('externalId'))
          throw new AppError(
            'validation_failed',
            'Choose a member and a method, and enter the external id.',
          );
        await identityLinks[action](
          org,
          field('username'),
          field('method'),
          field('externalId').slice(0, 500),
          p.account,
          requestInfo(ctx),
        );
        ctx.redirect(
          `/account/admin/sign-in-methods?org=${encodeURIComponent(org.name)}&done=${action}ed`,
        );
      } catch (err) {
        if (!(err instanceof AppError) || err.status >= 500) throw err;
        ctx.status = err.status;
        await renderAdmin(ctx, p, { error: err.message });
      }
    });
  }
}
