/** 2-step verification as features: the sign-in step, the account pages and the REST API. */
import type Provider from 'oidc-provider';
import type { Config } from '../config/schema.ts';
import type { MfaParts } from '../mfa-composition.ts';
import type { AccountService } from '../services/account-service.ts';
import type { AuditService } from '../services/audit-service.ts';
import type { OrganizationService } from '../services/organization-service.ts';
import type { OidcPayloadRepository } from '../repositories/oidc-payload-repository.ts';
import type { Feature } from './feature.ts';
import { registerMfaInteractionRoutes } from './routes/mfa-interaction-routes.ts';
import { registerMfaEnrollRoutes } from './routes/mfa-enroll-routes.ts';
import { registerMfaApiRoutes } from './routes/mfa-api-routes.ts';
import { registerMfaPages } from './routes/mfa-pages.ts';
import { registerAdminPages } from './routes/admin-pages.ts';
import type { PolicyService } from '../services/policy-service.ts';

export interface MfaFeatureDeps {
  provider: Provider;
  accounts: AccountService;
  organizations: OrganizationService;
  audit: AuditService;
  mfa: MfaParts;
  payloads: OidcPayloadRepository;
  config: Config;
  policies: PolicyService;
}

export function mfaFeatures(deps: MfaFeatureDeps): Feature[] {
  const { provider, accounts } = deps;
  const { mfa, webauthn, challenges, now } = deps.mfa;
  return [
    {
      name: 'mfa-sign-in',
      register: ({ router, views }) => {
        registerMfaInteractionRoutes(router, { provider, accounts, mfa, webauthn, views });
        registerMfaEnrollRoutes(router, { provider, accounts, mfa, webauthn, views, challenges, now });
      },
    },
    { name: 'mfa-api', register: ({ api }) => registerMfaApiRoutes(api, deps) },
    { name: 'mfa-pages', register: (f) => registerMfaPages(f, deps) },
    { name: 'admin-pages', register: (f) => registerAdminPages(f, deps) },
  ];
}
