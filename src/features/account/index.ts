/** The account area: the signed-in home page, the profile, the account's security events. */
import type { Composed } from '../../platform/feature.ts';
import type { Platform } from '../../platform/platform.ts';
import { registerAccountRoutes } from './account-routes.ts';
import { registerHomeRoutes } from './home-routes.ts';

export async function compose(p: Platform): Promise<Composed> {
  return {
    provides: {},
    feature: {
      name: 'account',
      register: ({ router, api, kit, nav, views }) => {
        registerHomeRoutes(router, {
          provider: p.provider,
          accounts: p.accounts,
          views,
          baseUrl: p.config.baseUrl,
          issuer: p.config.issuer,
        });
        registerAccountRoutes(router, api, {
          kit,
          nav,
          audit: p.audit,
          organizations: p.organizations,
          accounts: p.accounts,
        });
      },
    },
  };
}
