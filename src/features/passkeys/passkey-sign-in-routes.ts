/**
 * "Sign in with a passkey" on the sign-in page (the OIDC interaction's `login` step): options,
 * then the assertion. It ends the step with the same interaction result as a password sign-in,
 * only with the passkey's amr and the mfa acr, so the platform's code flow, the CLI's device flow
 * confirmation and the mfa prompt (already satisfied: `hwk`/`swk`) work unchanged.
 */
import type Router from '@koa/router';
import type { Context } from 'koa';
import type Provider from 'oidc-provider';
import { AppError } from '../../platform/errors/app-error.ts';
import { ACR_MFA } from '../../platform/auth/second-factor.ts';
import { verifyCsrfToken } from '../../platform/http/middleware/csrf.ts';
import { requestInfo } from '../../platform/http/request-info.ts';
import { rememberDevice } from '../sign-in/device-cookie.ts';
import { finishInteraction, loadInteraction } from '../../platform/oidc/interaction-kit.ts';
import type { PasskeyService } from './passkey-service.ts';

export function registerPasskeySignInRoutes(
  router: Router,
  deps: { provider: Provider; passkeys: PasskeyService },
): void {
  const { provider, passkeys } = deps;
  const loginStep = async (ctx: Context) => {
    const d = await loadInteraction(provider, ctx);
    verifyCsrfToken(ctx, d.uid, ctx.get('x-csrf-token'));
    if (d.prompt.name !== 'login')
      throw new AppError('invalid_request', 'This sign-in step is already complete.');
    return d;
  };

  /** The challenge's key: the button's, or the autofill's (conditional UI) pending beside it. */
  const challengeKey = (ctx: Context, uid: string) =>
    `interaction:${uid}${(ctx.request.body as { conditional?: unknown } | undefined)?.conditional === true ? ':autofill' : ''}`;

  router.post('/interaction/:uid/passkey/options', async (ctx) => {
    const d = await loginStep(ctx);
    ctx.set('Cache-Control', 'no-store');
    ctx.body = await passkeys.signInOptions(challengeKey(ctx, d.uid));
  });

  router.post('/interaction/:uid/passkey', async (ctx) => {
    const d = await loginStep(ctx);
    const response = (ctx.request.body as { response?: unknown } | undefined)?.response;
    const { account, amr } = await passkeys.signIn(
      challengeKey(ctx, d.uid),
      response,
      requestInfo(ctx),
    );
    rememberDevice(ctx, account.id);
    const url = await finishInteraction(ctx, d, {
      login: { accountId: account.id, amr, acr: ACR_MFA, remember: true },
    });
    ctx.remove('Location');
    ctx.status = 200;
    ctx.body = { redirect: url };
  });
}
