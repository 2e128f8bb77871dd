/**
 * Builds the organization sign-in methods feature (issue 15): repository, service, REST, the
 * sign-in interaction's methods pages and upstream round trip, and the `disable-password-login`
 * policy. compose.ts hands its parts to createApp.
 */
import type { Middleware } from 'koa';
import type Provider from 'oidc-provider';
import { z } from 'zod';
import type { Connection } from '../../db/connect.ts';
import type { Envelope } from '../../crypto/envelope.ts';
import type { Feature } from '../../http/feature.ts';
import type { Views } from '../../http/views.ts';
import type { Logger } from '../../logging/logger.ts';
import type { Organization } from '../../repositories/organization-repository.ts';
import type { OnceClaims } from '../../repositories/once-marker-repository.ts';
import type { AccountService } from '../../services/account-service.ts';
import type { AuditService } from '../../services/audit-service.ts';
import type { OrganizationService } from '../../services/organization-service.ts';
import type { PolicyService } from '../../services/policy-service.ts';
import type { ThrottleRule, ThrottleService } from '../../services/throttle-service.ts';
import { SignInMethodRepository } from './sign-in-method-repository.ts';
import { DISABLE_PASSWORD_LOGIN, SignInMethodService } from './sign-in-method-service.ts';
import { signInPages, type SignInHooks } from './sign-in-pages.ts';
import { registerSignInMethodRoutes } from './sign-in-method-routes.ts';
import { registerSignInMethodAccountPages } from './account-pages.ts';

export interface SignInMethodsParts {
  service: SignInMethodService;
  feature: Feature;
  beforeProvider: Middleware[];
  hooks: SignInHooks;
  sweep(): Promise<void>;
}

export async function composeSignInMethods(deps: {
  connection: Connection; envelope: Envelope; provider: Provider; views: Views; logger: Logger; baseUrl: string; now: () => number;
  accounts: AccountService; organizations: OrganizationService; organizationById: (id: string) => Promise<Organization | undefined>;
  policies: PolicyService; audit: AuditService; throttle: ThrottleService; rules: { account: ThrottleRule; ip: ThrottleRule }; once: OnceClaims;
}): Promise<SignInMethodsParts> {
  deps.policies.register({
    name: DISABLE_PASSWORD_LOGIN, schema: z.boolean(),
    description: 'true: members sign in only with the organization\'s other sign-in methods (OIDC, LDAP), not a Keyward password.',
  });
  const repo = new SignInMethodRepository(deps.connection, deps.now);
  await repo.ensureIndexes();
  const service = new SignInMethodService({ ...deps, repo });
  const pages = signInPages({ provider: deps.provider, views: deps.views, service, repo, once: deps.once, baseUrl: deps.baseUrl, now: deps.now });
  return {
    service,
    hooks: pages.hooks,
    beforeProvider: [pages.sectorIdentifier],
    sweep: () => repo.sweepExpired(),
    feature: {
      name: 'sign-in-methods',
      register: ({ router, api, nav, kit }) => {
        pages.register(router);
        registerSignInMethodRoutes(api, { service, organizations: deps.organizations });
        registerSignInMethodAccountPages({ router, nav, kit }, { service, organizations: deps.organizations, accounts: deps.accounts, audit: deps.audit });
      },
    },
  };
}
