/**
 * Organization sign-in methods (issue 15): the company's own identity provider (upstream OIDC) and
 * directory (LDAP) — repository, service, REST (contract §4), the sign-in interaction's methods
 * page and upstream round trip, linked identities, and the `disable-password-login` policy.
 */
import { z } from 'zod';
import type { Composed } from '../../platform/feature.ts';
import type { Platform } from '../../platform/platform.ts';
import type { SignInHooks } from '../sign-in/interaction-routes.ts';
import { SignInMethodRepository } from './sign-in-method-repository.ts';
import { DISABLE_PASSWORD_LOGIN, SignInMethodService } from './sign-in-method-service.ts';
import { CALLBACK_PATH, signInPages } from './sign-in-pages.ts';
import { registerSignInMethodRoutes } from './sign-in-method-routes.ts';
import { registerSignInMethodAccountPages } from './account-pages.ts';

export async function compose(
  p: Platform,
): Promise<Composed<{ service: SignInMethodService; hooks: SignInHooks }>> {
  p.policies.register({
    name: DISABLE_PASSWORD_LOGIN,
    schema: z.boolean(),
    description:
      "true: members sign in only with the organization's other sign-in methods (OIDC, LDAP), not a Keyward password.",
  });
  const repo = new SignInMethodRepository(p.connection, p.now);
  await repo.ensureIndexes();
  const service = new SignInMethodService({
    repo,
    envelope: p.keys.envelope,
    now: p.now,
    accounts: p.accounts,
    organizations: p.organizations,
    organizationById: (id) => p.organizations.findById(id),
    policies: p.policies,
    audit: p.audit,
    throttle: p.throttle,
    rules: p.config.throttle,
    once: p.once,
  });
  const pages = signInPages({
    provider: p.provider,
    views: p.views,
    service,
    repo,
    once: p.once,
    baseUrl: p.config.baseUrl,
    now: p.now,
    sessionSeconds: p.config.ttl.sessionSeconds,
  });
  return {
    provides: { service, hooks: pages.hooks },
    feature: {
      name: 'sign-in-methods',
      // The upstream IdP's own acr of a federated sign-in (skipMfaVerification or not), next to Keyward's acr.
      providerOptions: {
        claims: {
          scope: 'openid',
          names: ['upstream_acr'],
          async values(accountId, token) {
            // Only a federated sign-in has an upstream record: other sign-ins read nothing.
            const found =
              token?.authTime && token.amr?.includes('fed')
                ? await repo.findUpstream(accountId, token.authTime)
                : undefined;
            return found?.acr ? { upstream_acr: found.acr } : {};
          },
        },
      },
      beforeProvider: [pages.sectorIdentifier],
      register: ({ router, api, nav, kit }) => {
        pages.register(router);
        registerSignInMethodRoutes(api, { service, organizations: p.organizations });
        registerSignInMethodAccountPages(
          { router, nav, kit },
          {
            service,
            organizations: p.organizations,
            accounts: p.accounts,
            audit: p.audit,
            callbackUrl: `${p.config.baseUrl}${CALLBACK_PATH}`,
          },
        );
      },
      sweep: () => repo.sweepExpired(),
    },
  };
}
