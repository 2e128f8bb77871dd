/** Organization policies: the REST API and the organization's administration page. */
import type { Composed } from '../../platform/feature.ts';
import type { Platform } from '../../platform/platform.ts';
import type { MfaParts } from '../mfa/index.ts';
import { registerPolicyRoutes } from './policy-routes.ts';
import { registerAdminPages } from './admin-pages.ts';

export async function compose(p: Platform, uses: { mfa: MfaParts }): Promise<Composed> {
  const deps = {
    provider: p.provider,
    accounts: p.accounts,
    organizations: p.organizations,
    audit: p.audit,
    mfa: uses.mfa,
    payloads: p.payloads,
    config: p.config,
    policies: p.policies,
  };
  return {
    provides: {},
    feature: {
      name: 'policies',
      register: (f) => {
        registerPolicyRoutes(f.api, {
          audit: p.audit,
          organizations: p.organizations,
          policies: p.policies,
        });
        registerAdminPages(f, deps);
      },
    },
  };
}
