/**
 * 2-step verification (issue 3): authenticator apps, security keys, recovery codes; the `mfa`
 * prompt of the sign-in; sudo mode; the account pages and REST API.
 */
import type { Composed } from '../../platform/feature.ts';
import type { Platform } from '../../platform/platform.ts';
import { buildMfa, type MfaParts } from './mfa-parts.ts';
import { createInteractionPolicy } from './mfa-prompt.ts';
import { registerMfaInteractionRoutes } from './mfa-interaction-routes.ts';
import { registerMfaEnrollRoutes } from './mfa-enroll-routes.ts';
import { registerMfaApiRoutes } from './mfa-api-routes.ts';
import { registerMfaPages } from './mfa-pages.ts';

export type { MfaParts } from './mfa-parts.ts';

export async function compose(p: Platform): Promise<Composed<MfaParts>> {
  const parts = await buildMfa(p);
  const { mfa, webauthn, challenges, now } = parts;
  const deps = {
    provider: p.provider,
    accounts: p.accounts,
    organizations: p.organizations,
    audit: p.audit,
    mfa: parts,
    payloads: p.payloads,
    config: p.config,
    policies: p.policies,
  };
  return {
    provides: parts,
    feature: {
      name: 'mfa',
      providerOptions: { interactionPolicy: createInteractionPolicy(parts.decide) },
      register: (f) => {
        registerMfaInteractionRoutes(f.router, {
          provider: p.provider,
          accounts: p.accounts,
          mfa,
          webauthn,
          views: f.views,
        });
        registerMfaEnrollRoutes(f.router, {
          provider: p.provider,
          accounts: p.accounts,
          mfa,
          webauthn,
          views: f.views,
          challenges,
          now,
        });
        registerMfaApiRoutes(f.api, deps);
        registerMfaPages(f, deps);
      },
      // Expired challenges (sign-in and sudo steps, passkey autofill) are removed.
      sweep: () => challenges.sweepExpired(),
    },
  };
}
