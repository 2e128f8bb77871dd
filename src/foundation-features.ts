/** Features that come with the foundation: the account area and policies. */
import type { Feature } from './http/feature.ts';
import { registerAccountRoutes } from './http/routes/account-routes.ts';
import { registerPolicyRoutes } from './http/routes/policy-routes.ts';
import type { AuditService } from './services/audit-service.ts';
import type { AccountService } from './services/account-service.ts';
import type { OrganizationService } from './services/organization-service.ts';
import type { PolicyService } from './services/policy-service.ts';

export function foundationFeatures(deps: { accounts: AccountService; audit: AuditService; organizations: OrganizationService; policies: PolicyService }): Feature[] {
  return [
    { name: 'account', register: ({ router, api, kit, nav }) => registerAccountRoutes(router, api, { kit, nav, audit: deps.audit, organizations: deps.organizations, accounts: deps.accounts }) },
    { name: 'policies', register: ({ api }) => registerPolicyRoutes(api, deps) },
  ];
}
