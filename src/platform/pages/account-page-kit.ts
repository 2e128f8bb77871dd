/**
 * The frame every account page renders in: the signed-in browser user (or a redirect to sign in
 * and back), the page rendered with the account navigation and a CSRF token bound to the session,
 * and the posted form once that token checks out. Features get it as `kit` when they register.
 */
import type { Context } from 'koa';
import type { Views } from '../http/views.ts';
import type { AccountNav } from './account-nav.ts';
import { optionalPrincipal, type Principal } from '../auth/principal.ts';
import { issueCsrfToken, verifyCsrfToken } from '../http/middleware/csrf.ts';

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
