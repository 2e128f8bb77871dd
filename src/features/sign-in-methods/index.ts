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
import { SignInMethodService } from './sign-in-method-service.ts';
import { DISABLE_PASSWORD_LOGIN, FederatedSignIn } from './federated-sign-in.ts';
import { IdentityLinks } from './identity-links.ts';
import { MethodSecrets } from './method-secrets.ts';
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
  const secrets = new MethodSecrets(p.keys.envelope);
  const service = new SignInMethodService({ repo, secrets, audit: p.audit });
  const signIn = new FederatedSignIn({
    repo,
    secrets,
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
  const links = new IdentityLinks({
    repo,
    methods: service,
    accounts: p.accounts,
    organizations: p.organizations,
    audit: p.audit,
  });
  const pages = signInPages({
    provider: p.provider,
    views: p.views,
    signIn,
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
        registerSignInMethodRoutes(api, { service, links, organizations: p.organizations });
        registerSignInMethodAccountPages(
          { router, nav, kit },
          {
            service,
            links,
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
