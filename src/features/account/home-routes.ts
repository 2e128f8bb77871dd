/**
 * Keyward's own home page. It signs in through the provider like any relying party, as the
 * built-in first-party client `keyward-console` (authorization code + PKCE), and shows who the
 * provider's session belongs to.
 */
import { createHash, randomBytes } from 'node:crypto';
import type Router from '@koa/router';
import type Provider from 'oidc-provider';
import { AppError } from '../../platform/errors/app-error.ts';
import type { AccountService } from '../../platform/directory/account-service.ts';
import type { Views } from '../../platform/http/views.ts';
import { CONSOLE_CLIENT_ID } from '../../platform/oidc/clients.ts';

const STATE_COOKIE = 'kw.signin';

export function registerHomeRoutes(
  router: Router,
  deps: {
    provider: Provider;
    accounts: AccountService;
    views: Views;
    baseUrl: string;
    issuer: string;
  },
): void {
  const { provider, accounts, views, baseUrl, issuer } = deps;

  router.get('/', async (ctx) => {
    const session = await provider.Session.get(ctx);
    const account = session.accountId ? await accounts.findById(session.accountId) : undefined;
    ctx.set('Cache-Control', 'no-store');
    ctx.type = 'html';
    const signedIn = account && !account.disabled ? account : undefined;
    ctx.body = views.render('account/home.njk', {
      account: signedIn,
      viewer: signedIn,
      amr: (session.amr ?? []).join(', '),
      issuer,
    });
  });

  router.get('/signin', async (ctx) => {
    const state = randomBytes(16).toString('base64url');
    const verifier = randomBytes(32).toString('base64url');
    const next =
      typeof ctx.query.next === 'string' && /^\/(?![/\\])/.test(ctx.query.next)
        ? ctx.query.next
        : '/';
    ctx.cookies.set(
      STATE_COOKIE,
      `${state}.${verifier}.${Buffer.from(next).toString('base64url')}`,
      { signed: true, httpOnly: true, sameSite: 'lax', secure: ctx.secure, maxAge: 600_000 },
    );
    const url = new URL(`${issuer}/authorize`);
    url.search = new URLSearchParams({
      client_id: CONSOLE_CLIENT_ID,
      response_type: 'code',
      scope: 'openid profile',
      state,
      redirect_uri: `${baseUrl}/signin/callback`,
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
      // "Sign in again" from Confirm it's you: a fresh sign-in (which counts as the verification), even with a session.
      ...(ctx.query.reauth === '1' ? { prompt: 'login' } : {}),
    }).toString();
    ctx.redirect(url.toString());
  });

  router.get('/signin/callback', async (ctx) => {
    const [state, , next] = (ctx.cookies.get(STATE_COOKIE, { signed: true }) ?? '').split('.');
    ctx.cookies.set(STATE_COOKIE, null);
    if (ctx.query.error === 'access_denied') return ctx.redirect('/'); // the user cancelled
    if (ctx.query.error)
      throw new AppError(
        'forbidden',
        `Sign-in did not complete: ${String(ctx.query.error_description ?? ctx.query.error)}`,
      );
    if (!state || ctx.query.state !== state)
      throw new AppError(
        'invalid_request',
        'This sign-in response does not match a sign-in started in this browser. Start again.',
      );
    // The provider's session is what Keyward's own pages read; the one-time code is left to expire.
    ctx.redirect(next ? Buffer.from(next, 'base64url').toString('utf8') : '/');
  });

  router.get('/signout', async (ctx) => {
    const url = new URL(`${issuer}/end_session`);
    url.search = new URLSearchParams({
      client_id: CONSOLE_CLIENT_ID,
      post_logout_redirect_uri: `${baseUrl}/`,
    }).toString();
    ctx.redirect(url.toString());
  });
}
