/**
 * Signing in: the provider's login interaction (sign-in form, consent, sign-out pages) and the
 * browser session as a credential for Keyward's own API and pages.
 */
import type { Composed } from '../../platform/feature.ts';
import type { Platform } from '../../platform/platform.ts';
import type { Authenticator } from '../../platform/auth/principal.ts';
import type { MfaParts } from '../mfa/index.ts';
import { registerInteractionRoutes, type SignInHooks } from './interaction-routes.ts';
import { sessionAuthenticator } from './session-authenticator.ts';

/** `hooks`: the organization sign-in methods' part in the login step (features/sign-in-methods). */
export async function compose(
  p: Platform,
  uses: { mfa: MfaParts; hooks?: SignInHooks },
): Promise<Composed<{ session: Authenticator }>> {
  const session = sessionAuthenticator(p.provider, p.accounts, uses.mfa);
  return {
    provides: { session },
    feature: {
      name: 'sign-in',
      authenticators: [session],
      register: ({ router, views }) =>
        registerInteractionRoutes(router, {
          provider: p.provider,
          accounts: p.accounts,
          views,
          signIn: uses.hooks,
        }),
    },
  };
}
