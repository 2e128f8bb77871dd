/**
 * The account area (`/account…`): browser-session pages. Unauthenticated visitors are sent to
 * sign in and brought back. Feature pages use `accountPage` to render inside the same frame.
 * The profile page edits the name and the OIDC standard claims relying parties read with the
 * `profile` scope (given_name, family_name, locale, zoneinfo).
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
import type { AccountService } from '../../services/account-service.ts';
import { requestInfo } from '../request-info.ts';
import { changeThenRedirect } from './sudo-redirect.ts';
import { AppError } from '../../errors/app-error.ts';

export interface AccountPageKit {
  /** The signed-in browser user, or a redirect to sign-in (answers undefined then). */
  signedIn(ctx: Context): Promise<Principal | undefined>;
  /** Renders `template` inside the account frame, with nav, CSRF token and the user. */
  render(ctx: Context, principal: Principal, template: string, context: Record<string, unknown>): void;
  /** The posted form, once its CSRF token (issued by `render` for this session) checks out. */
  form(ctx: Context, principal: Principal): Record<string, unknown>;
  /** Facts features add to the profile page (e.g. linked sign-in identities). */
  profileFacts: ((accountId: string) => Promise<ProfileFact[]>)[];
}

export interface ProfileFact { label: string; value: string; href?: string }

const csrfPurpose = (principal: Principal) => `account:${principal.sessionUid}`;

export function createAccountPageKit(views: Views, nav: AccountNav): AccountPageKit {
  return {
    profileFacts: [],
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

const CONTROL = /[\p{Cc}\p{Cf}]/u;
/** A short line of text; empty means "not set". */
const text = (label: string, max: number) => z.string().trim()
  .max(max, `${label} must be at most ${max} characters.`)
  .refine((v) => !CONTROL.test(v), `${label} must not contain control characters.`);
const optional = <T extends z.ZodType<string | undefined>>(schema: T) => z.preprocess((v) => (typeof v === 'string' && v.trim() === '' ? undefined : v), schema.optional());

/** OIDC Core §5.1: a BCP 47 language tag (an underscore separator, as some systems write it, is accepted and canonicalized). */
const locale = z.string().trim().max(35, 'Locale must be at most 35 characters.').transform((v, ctx) => {
  try {
    return Intl.getCanonicalLocales(v.replace(/_/g, '-'))[0];
  } catch {
    ctx.addIssue({ code: 'custom', message: `Locale "${v}" is not a language tag such as en-US or fr-CA.` });
    return z.NEVER;
  }
});

/** OIDC Core §5.1: a time zone name from the IANA database (Europe/Paris), not an offset. */
const zoneinfo = z.string().trim().max(64, 'Time zone must be at most 64 characters.').transform((v, ctx) => {
  try {
    if (!/^[A-Za-z]/.test(v)) throw new RangeError(v);
    return new Intl.DateTimeFormat('en-US', { timeZone: v }).resolvedOptions().timeZone;
  } catch {
    ctx.addIssue({ code: 'custom', message: `Time zone "${v}" is not an IANA time zone name such as Europe/Paris or America/Los_Angeles.` });
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

export function registerAccountRoutes(router: Router, api: ApiRegistry, deps: {
  kit: AccountPageKit; nav: AccountNav; audit: AuditService; organizations: OrganizationService; accounts: AccountService;
}): void {
  const { kit, nav, audit, organizations, accounts } = deps;
  nav.add({ href: '/account', label: 'Profile', group: 'Account' });
  nav.add({ href: '/account/security-events', label: 'Security events', group: 'Security' });

  async function showProfile(ctx: Context, p: Principal, extra: { error?: string; flash?: string; form?: Record<string, string> } = {}) {
    const memberships = await organizations.membershipsOf(p.account.id);
    const form = extra.form ?? Object.fromEntries(PROFILE_FIELDS.map((f) => [f, p.account[f] ?? '']));
    const facts = (await Promise.all(kit.profileFacts.map((f) => f(p.account.id)))).flat();
    kit.render(ctx, p, 'account/profile.njk', { memberships, facts, amr: p.amr.join(', '), form, error: extra.error, flash: extra.flash });
  }

  router.get('/account', async (ctx) => {
    const p = await kit.signedIn(ctx);
    if (!p) return;
    await showProfile(ctx, p, { flash: ctx.query.done === 'saved' ? 'Profile saved.' : undefined });
  });

  router.post('/account', async (ctx) => {
    const p = await kit.signedIn(ctx);
    if (!p) return;
    const body = kit.form(ctx, p);
    const form = Object.fromEntries(PROFILE_FIELDS.map((f) => [f, typeof body[f] === 'string' ? body[f] : '']));
    await changeThenRedirect(ctx, async () => {
      const parsed = profileForm.safeParse(form);
      if (!parsed.success) throw new AppError('validation_failed', parsed.error.issues[0].message);
      await accounts.setProfile(p.account.id, parsed.data);
      await audit.record({ type: 'account.profile_updated', accountId: p.account.id, request: requestInfo(ctx) });
    }, (error) => showProfile(ctx, p, { error, form }), '/account?done=saved');
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
