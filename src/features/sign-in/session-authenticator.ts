import { SESSION_COOKIE } from '../../platform/oidc/session-cookie.ts';
import type { Context } from 'koa';
import type Provider from 'oidc-provider';
import type { AccountService } from '../../platform/directory/account-service.ts';
import type { Authenticator, Principal } from '../../platform/auth/principal.ts';
import type { MfaDecision } from '../mfa/mfa-decision.ts';

/**
 * The browser's single sign-on session: the oidc-provider session cookie, read through its public
 * Session model. A session that has not completed the second factor its account or organization
 * requires (checked on every request, so a newly enforced policy applies at once) does not count.
 */
export function sessionAuthenticator(
  provider: Provider,
  accounts: AccountService,
  mfa: {
    decide: (accountId: string, amr: string[], requested: boolean) => Promise<MfaDecision>;
    sessions: { isKept: (uid: string) => Promise<boolean> };
  },
): Authenticator {
  return {
    method: 'session',
    async authenticate(ctx: Context): Promise<Principal | undefined> {
      if (!ctx.cookies.get(SESSION_COOKIE)) return undefined;
      const session = await provider.Session.get(ctx);
      if (!session.accountId) return undefined;
      const account = await accounts.findById(session.accountId);
      if (!account || account.disabled) return undefined;
      const decision = await mfa.decide(account.id, session.amr ?? [], false);
      if (
        decision.need !== 'ok' &&
        (decision.enforced || !(await mfa.sessions.isKept(session.uid)))
      )
        return undefined;
      return {
        account,
        via: 'session',
        amr: session.amr ?? [],
        sessionUid: session.uid,
        authTime: session.loginTs,
      };
    },
  };
}
