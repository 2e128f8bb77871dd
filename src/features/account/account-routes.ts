/**
 * The account area (`/account…`): browser-session pages. Unauthenticated visitors are sent to
 * sign in and brought back. Feature pages use `accountPage` to render inside the same frame.
 * The Authentication overview and Security events are authentication-page.ts and security-events-page.ts.
 * The profile page edits the name and the OIDC standard claims relying parties read with the
 * `profile` scope (given_name, family_name, locale, zoneinfo).
 */
import type Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import type { AccountNav } from '../../platform/pages/account-nav.ts';
import type { AuditService } from '../../platform/directory/audit-service.ts';
import type { OrganizationService } from '../../platform/directory/organization-service.ts';
import type { ApiRegistry } from '../../platform/http/api-registry.ts';
import { requirePrincipal, type Principal } from '../../platform/auth/principal.ts';
import type { AccountPageKit } from '../../platform/pages/account-page-kit.ts';
import { accountForm } from '../../platform/pages/account-form.ts';
import { registerAuthenticationPage } from './authentication-page.ts';
import { showSecurityEvents } from './security-events-page.ts';
import type { AccountService } from '../../platform/directory/account-service.ts';
import { requestInfo } from '../../platform/http/request-info.ts';

const eventSchema = z.object({
  id: z.string(),
  type: z.string(),
  outcome: z.enum(['success', 'failure']),
  at: z.date(),
  ip: z.string().optional(),
  userAgent: z.string().optional(),
  details: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
});

const CONTROL = /[\p{Cc}\p{Cf}]/u;
/** A short line of text; empty means "not set". */
const text = (label: string, max: number) =>
  z
    .string()
    .trim()
    .max(max, `${label} must be at most ${max} characters.`)
    .refine((v) => !CONTROL.test(v), `${label} must not contain control characters.`);
const optional = <T extends z.ZodType<string | undefined>>(schema: T) =>
  z.preprocess(
    (v) => (typeof v === 'string' && v.trim() === '' ? undefined : v),
    schema.optional(),
  );

/** OIDC Core §5.1: a BCP 47 language tag (an underscore separator, as some systems write it, is accepted and canonicalized). */
const locale = z
  .string()
  .trim()
  .max(35, 'Locale must be at most 35 characters.')
  .transform((v, ctx) => {
    try {
      return Intl.getCanonicalLocales(v.replace(/_/g, '-'))[0];
    } catch {
      ctx.addIssue({
        code: 'custom',
        message: `Locale "${v}" is not a language tag such as en-US or fr-CA.`,
      });
      return z.NEVER;
    }
  });

/** OIDC Core §5.1: a time zone name from the IANA database (Europe/Paris), not an offset. */
const zoneinfo = z
  .string()
  .trim()
  .max(64, 'Time zone must be at most 64 characters.')
  .transform((v, ctx) => {
    try {
      if (!/^[A-Za-z]/.test(v)) throw new RangeError(v);
      return new Intl.DateTimeFormat('en-US', { timeZone: v }).resolvedOptions().timeZone;
    } catch {
      ctx.addIssue({
        code: 'custom',
        message: `Time zone "${v}" is not an IANA time zone name such as Europe/Paris or America/Los_Angeles.`,
      });
      return z.NEVER;
    }
  });

export const profileForm = z.object({
  displayName: text('Name', 128).pipe(z.string().min(1, 'Name must not be empty.')),
  givenName: optional(text('Given name', 64)),
  familyName: optional(text('Family name', 64)),
  locale: optional(locale),
  zoneinfo: optional(zoneinfo),
});

const PROFILE_FIELDS = ['displayName', 'givenName', 'familyName', 'locale', 'zoneinfo'] as const;

export function registerAccountRoutes(
  router: Router,
  api: ApiRegistry,
  deps: {
    kit: AccountPageKit;
    nav: AccountNav;
    audit: AuditService;
    organizations: OrganizationService;
    accounts: AccountService;
  },
): void {
  const { kit, nav, audit, organizations, accounts } = deps;
  nav.add({ href: '/account', label: 'Profile', group: 'Account', order: 10 });
  nav.add({
    href: '/account/security-events',
    label: 'Security events',
    group: 'Security',
    order: 10,
  });
  registerAuthenticationPage(router, kit, nav);

  async function showProfile(
    ctx: Context,
    p: Principal,
    extra: { error?: string; flash?: string; form?: Record<string, string> } = {},
  ) {
    const memberships = await organizations.membershipsOf(p.account.id);
    const form =
      extra.form ?? Object.fromEntries(PROFILE_FIELDS.map((f) => [f, p.account[f] ?? '']));
    const facts = (await Promise.all(kit.profileFacts.map((f) => f(p.account.id)))).flat();
    kit.render(ctx, p, 'account/profile.njk', {
      memberships,
      facts,
      amr: p.amr.join(', '),
      form,
      error: extra.error,
      flash: extra.flash,
    });
  }

  router.get('/account', async (ctx) => {
    const p = await kit.signedIn(ctx);
    if (!p) return;
    await showProfile(ctx, p, { flash: ctx.query.done === 'saved' ? 'Profile saved.' : undefined });
  });

  router.post(
    '/account',
    accountForm(kit, {
      schema: profileForm,
      change: async (ctx, p, form) => {
        await accounts.setProfile(p.account.id, form);
        await audit.record({
          type: 'account.profile_updated',
          accountId: p.account.id,
          request: requestInfo(ctx),
        });
        return '/account?done=saved';
      },
      rerender: (ctx, p, { error, form }) => showProfile(ctx, p, { error, form }),
    }),
  );

  router.get('/account/security-events', async (ctx) => {
    const p = await kit.signedIn(ctx);
    if (!p) return;
    await showSecurityEvents(ctx, kit, p, await audit.forAccount(p.account.id, 100));
  });

  api.add({
    method: 'get',
    path: '/api/account/events',
    summary: 'Your recent security events',
    tags: ['Audit'],
    query: z.object({
      limit: z.coerce.number().int().min(1).max(200).default(50),
      before: z.iso.datetime().optional(),
    }),
    response: { status: 200, schema: z.array(eventSchema) },
    handler: async (ctx, { query }) => {
      const { account } = await requirePrincipal(ctx);
      return audit.forAccount(
        account.id,
        query.limit,
        query.before ? new Date(query.before) : undefined,
      );
    },
  });

  api.add({
    method: 'get',
    path: '/api/organizations/:org/events',
    summary: "The organization's security events (org admins)",
    tags: ['Audit'],
    params: z.object({ org: z.string().min(1).max(100) }),
    query: z.object({
      limit: z.coerce.number().int().min(1).max(200).default(50),
      before: z.iso.datetime().optional(),
    }),
    response: {
      status: 200,
      schema: z.array(
        eventSchema.extend({ accountId: z.string().optional(), actorId: z.string().optional() }),
      ),
    },
    handler: async (ctx, { params, query }) => {
      const org = await organizations.requireAdmin(
        params.org,
        (await requirePrincipal(ctx)).account,
      );
      return audit.forOrganization(
        org.id,
        query.limit,
        query.before ? new Date(query.before) : undefined,
      );
    },
  });
}
