import type { Context } from 'koa';
import type Provider from 'oidc-provider';
import type { AccountService } from '../../services/account-service.ts';
import type { Authenticator, Principal } from './principal.ts';

/** The browser's single sign-on session: the oidc-provider session cookie, read through its public Session model. */
export function sessionAuthenticator(provider: Provider, accounts: AccountService): Authenticator {
  return {
    method: 'session',
    async authenticate(ctx: Context): Promise<Principal | undefined> {
      if (!ctx.cookies.get('_session')) return undefined;
      const session = await provider.Session.get(ctx);
      if (!session.accountId) return undefined;
      const account = await accounts.findById(session.accountId);
      if (!account || account.disabled) return undefined;
      return { account, via: 'session', amr: session.amr ?? [], sessionUid: session.uid, authTime: session.loginTs };
    },
  };
}
