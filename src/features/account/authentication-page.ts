/**
 * Account > Authentication: the overview the documentation starts from, listing its sections in
 * order (API Keys, SSH Keys, 2-Step Verification), each with a sentence and, where a feature
 * gives one, its state (2-Step Verification: On / Off). The sections themselves are its tabs.
 */
import type Router from '@koa/router';
import { AUTHENTICATION_PAGE, type AccountNav } from '../../platform/pages/account-nav.ts';
import type { AccountPageKit } from '../../platform/pages/account-page-kit.ts';

export function registerAuthenticationPage(
  router: Router,
  kit: AccountPageKit,
  nav: AccountNav,
): void {
  nav.add({ href: AUTHENTICATION_PAGE, label: 'Authentication', group: 'Account', order: 20 });

  router.get(AUTHENTICATION_PAGE, async (ctx) => {
    const p = await kit.signedIn(ctx);
    if (!p) return;
    const sections = await Promise.all(
      nav.tabs(ctx.state.accountNav).map(async (t) => ({
        href: t.href,
        label: t.label,
        description: t.description,
        status: t.status ? await t.status(p) : undefined,
      })),
    );
    kit.render(ctx, p, 'account/authentication.njk', { sections });
  });
}
