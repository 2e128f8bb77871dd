/**
 * The account area (`/account…`): browser-session pages. Unauthenticated visitors are sent to
 * sign in and brought back. Feature pages use `accountPage` to render inside the same frame.
 */
import type Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import type { Views } from '../views.ts';
import type { AccountNav } from '../account-nav.ts';
import type { AuditService } from '../../services/audit-service.ts';
import type { OrganizationService } from '../../services/organization-service.ts';
import type { ApiRegistry } from '../api-registry.ts';
import { optionalPrincipal, requirePrincipal, type Principal } from '../auth/principal.ts';
import { issueCsrfToken, verifyCsrfToken } from '../middleware/csrf.ts';

export interface AccountPageKit {
  /** The signed-in browser user, or a redirect to sign-in (answers undefined then). */
  signedIn(ctx: Context): Promise<Principal | undefined>;
  /** Renders `template` inside the account frame, with nav, CSRF token and the user. */
  render(ctx: Context, principal: Principal, template: string, context: Record<string, unknown>): void;
  /** The posted form, once its CSRF token (issued by `render` for this session) checks out. */
  form(ctx: Context, principal: Principal): Record<string, unknown>;
}

const csrfPurpose = (principal: Principal) => `account:${principal.sessionUid}`;

export function createAccountPageKit(views: Views, nav: AccountNav): AccountPageKit {
  return {
    async signedIn(ctx) {
      const p = await optionalPrincipal(ctx);
      if (p?.via === 'session') return p;
      ctx.redirect(`/signin?next=${encodeURIComponent(ctx.originalUrl)}`);
      return undefined;
    },
    render(ctx, principal, template, context) {
      ctx.set('Cache-Control', 'no-store');
      ctx.type = 'html';
      ctx.body = views.render(template, {
        ...context, account: principal.account, nav: nav.grouped(), active: ctx.path,
        csrf: issueCsrfToken(ctx, csrfPurpose(principal)),
      });
    },
    form(ctx, principal) {
      const body = ((ctx.request as { body?: unknown }).body ?? {}) as Record<string, unknown>;
      verifyCsrfToken(ctx, csrfPurpose(principal), body._csrf);
      return body;
    },
  };
}

const eventSchema = z.object({
  id: z.string(), type: z.string(), outcome: z.enum(['success', 'failure']), at: z.date(),
  ip: z.string().optional(), userAgent: z.string().optional(), details: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
});

export function registerAccountRoutes(router: Router, api: ApiRegistry, deps: { kit: AccountPageKit; nav: AccountNav; audit: AuditService; organizations: OrganizationService }): void {
  const { kit, nav, audit, organizations } = deps;
  nav.add({ href: '/account', label: 'Profile', group: 'Account' });
  nav.add({ href: '/account/security-events', label: 'Security events', group: 'Security' });

  router.get('/account', async (ctx) => {
    const p = await kit.signedIn(ctx);
    if (!p) return;
    const memberships = await organizations.membershipsOf(p.account.id);
    kit.render(ctx, p, 'account/profile.njk', { memberships, amr: p.amr.join(', ') });
  });

  router.get('/account/security-events', async (ctx) => {
    const p = await kit.signedIn(ctx);
    if (!p) return;
    kit.render(ctx, p, 'account/security-events.njk', { events: await audit.forAccount(p.account.id, 100) });
  });

  api.add({
    method: 'get', path: '/api/account/events', summary: 'Your recent security events', tags: ['Audit'],
    query: z.object({ limit: z.coerce.number().int().min(1).max(200).default(50), before: z.iso.datetime().optional() }),
    response: { status: 200, schema: z.array(eventSchema) },
    handler: async (ctx, { query }) => {
      const { account } = await requirePrincipal(ctx);
      return audit.forAccount(account.id, query.limit, query.before ? new Date(query.before) : undefined);
    },
  });

  api.add({
    method: 'get', path: '/api/organizations/:org/events', summary: "The organization's security events (org admins)", tags: ['Audit'],
    params: z.object({ org: z.string().min(1).max(100) }),
    query: z.object({ limit: z.coerce.number().int().min(1).max(200).default(50), before: z.iso.datetime().optional() }),
    response: { status: 200, schema: z.array(eventSchema.extend({ accountId: z.string().optional(), actorId: z.string().optional() })) },
    handler: async (ctx, { params, query }) => {
      const org = await organizations.requireAdmin(params.org, (await requirePrincipal(ctx)).account);
      return audit.forOrganization(org.id, query.limit, query.before ? new Date(query.before) : undefined);
    },
  });
}
