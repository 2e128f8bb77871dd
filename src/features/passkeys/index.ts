/**
 * Passkeys (issue 16), built on the 2-step verification parts: the passkey and passwordless
 * services, the `require-password` policy, the removal guard that keeps a passwordless account's
 * last passkey, the sign-in step, the account page and the REST API.
 */
import type { Composed } from '../../platform/feature.ts';
import type { Platform } from '../../platform/platform.ts';
import type { MfaParts } from '../mfa/index.ts';
import { PasskeyService } from './passkey-service.ts';
import { PasswordlessRepository } from './passwordless-repository.ts';
import { PasswordlessService, registerPasswordPolicy } from './passwordless-service.ts';
import { registerPasskeySignInRoutes } from './passkey-sign-in-routes.ts';
import { registerPasskeyApiRoutes } from './passkey-api-routes.ts';
import { registerPasskeyPages } from './passkey-pages.ts';
import type { PasskeyFeatureDeps } from './passkey-parts.ts';

export async function compose(p: Platform, uses: { mfa: MfaParts }): Promise<Composed> {
  const { config } = p;
  const parts = uses.mfa;
  registerPasswordPolicy(p.policies);
  const passkeys = new PasskeyService({
    factors: parts.factors,
    challenges: parts.challenges,
    once: p.once,
    audit: p.audit,
    throttle: p.throttle,
    rules: { account: config.throttle.account, ip: config.throttle.ip },
    findAccount: (id) => p.accounts.findById(id),
    requirement: (id) => parts.mfa.requirement(id),
    isFips: (f) => parts.webauthn.isFips(f),
    removeFactor: (a, id, r) => parts.mfa.removeFactor(a, id, r),
    baseUrl: config.baseUrl,
    rpName: config.mfa.issuerName,
    now: p.now,
  });
  const passwordless = new PasswordlessService({
    repo: new PasswordlessRepository(p.connection),
    accounts: p.accounts,
    policies: p.policies,
    organizations: p.organizations,
    audit: p.audit,
    passkeys: (id) => passkeys.list(id),
    now: p.now,
    unusableHash: () => p.accounts.unusablePasswordHash(),
    setPasswordHash: (id, hash) => p.accounts.setPasswordHash(id, hash),
  });
  parts.mfa.guardRemoval((accountId, remaining) => passwordless.removalVeto(accountId, remaining));
  const deps: PasskeyFeatureDeps = {
    passkeys,
    passwordless,
    mfa: parts.mfa,
    sudo: parts.sudo,
    sessions: parts.sessions,
  };
  return {
    provides: {},
    feature: {
      name: 'passkeys',
      register: (f) => {
        registerPasskeySignInRoutes(f.router, { provider: p.provider, passkeys });
        registerPasskeyApiRoutes(f.api, deps);
        registerPasskeyPages(f, deps);
      },
    },
  };
}
