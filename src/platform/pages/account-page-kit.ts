/**
 * The frame every account page renders in: the signed-in check (or a redirect to sign in and
 * back), the navigation this user may see, the user menu, a CSRF token for the session, the sudo
 * guard and the one-time secrets (post/redirect/get) that account forms use.
 */
import type { Context } from 'koa';
import type { Views } from '../http/views.ts';
import { AUTHENTICATION_PAGE, type AccountNav, type NavItem } from './account-nav.ts';
import { optionalPrincipal, type Principal } from '../auth/principal.ts';
import { issueCsrfToken, verifyCsrfToken } from '../http/middleware/csrf.ts';
import type { SudoGuard } from '../auth/sudo-service.ts';
import type { OneTimeSecrets } from './one-time-secret.ts';

export interface AccountPageKit {
  /** The signed-in browser user, or a redirect to sign-in (answers undefined then). */
  signedIn(ctx: Context): Promise<Principal | undefined>;
  /** Renders `template` inside the account frame, with nav, CSRF token and the user. */
  render(
    ctx: Context,
    principal: Principal,
    template: string,
    context: Record<string, unknown>,
  ): void;
  /** The posted form, once its CSRF token (issued by `render` for this session) checks out. */
  form(ctx: Context, principal: Principal): Record<string, unknown>;
  /** Sudo mode for changes that add a way in or weaken sign-in. */
  readonly sudo: SudoGuard;
  /** Secrets carried from a form's POST to the page it redirects to, shown once. */
  readonly secrets: OneTimeSecrets;
  /** The navigation (for pages that list sections, such as the Authentication overview). */
  readonly nav: AccountNav;
  /** Facts features add to the profile page (e.g. linked sign-in identities). */
  readonly profileFacts: ((accountId: string) => Promise<ProfileFact[]>)[];
}

/** A line on the profile page. */
export interface ProfileFact {
  label: string;
  value: string;
  href?: string;
}

const csrfPurpose = (principal: Principal) => `account:${principal.sessionUid}`;

declare module 'koa' {
  interface DefaultState {
    /** The navigation items the signed-in user may see (set by `signedIn`). */
    accountNav?: NavItem[];
  }
}

export function createAccountPageKit(
  views: Views,
  nav: AccountNav,
  deps: { sudo: SudoGuard; secrets: OneTimeSecrets },
): AccountPageKit {
  return {
    profileFacts: [],
    sudo: deps.sudo,
    secrets: deps.secrets,
    nav,
    async signedIn(ctx) {
      const p = await optionalPrincipal(ctx);
      if (p?.via === 'session') {
        ctx.state.accountNav = await nav.visibleTo(p);
        return p;
      }
      ctx.redirect(`/signin?next=${encodeURIComponent(ctx.originalUrl)}`);
      return undefined;
    },
    render(ctx, principal, template, context) {
      const items = ctx.state.accountNav ?? nav.items.filter((i) => !i.visible);
      const active = String(context.active ?? ctx.path);
      const tabs = nav.tabs(items);
      ctx.set('Cache-Control', 'no-store');
      ctx.type = 'html';
      ctx.body = views.render(template, {
        ...context,
        account: principal.account,
        viewer: principal.account,
        nav: nav.grouped(items),
        active,
        tabs: tabs.some((t) => t.href === active) ? tabs : undefined,
        authenticationPage: AUTHENTICATION_PAGE,
        isAdmin: items.some((i) => i.group === 'Administration'),
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
