/**
 * The sign-in and consent pages behind oidc-provider's interactions (`/interaction/:uid`).
 * Every form carries a CSRF token bound to the interaction; an interaction that has expired or
 * belongs to another browser shows a clear page instead of failing.
 */
import type Router from '@koa/router';
import type { Context } from 'koa';
import type Provider from 'oidc-provider';
import { AppError } from '../../platform/errors/app-error.ts';
import {
  clientNameOf,
  finishInteraction,
  loadInteraction,
  type InteractionDetails,
} from '../../platform/oidc/interaction-kit.ts';
import type { AccountService } from '../../platform/directory/account-service.ts';
import type { Account } from '../../platform/directory/account-repository.ts';
import { isFirstParty } from '../../platform/oidc/first-party-grant.ts';
import { ACR_PWD } from '../../platform/auth/second-factor.ts';
import type { Views } from '../../platform/http/views.ts';
import { issueCsrfToken, verifyCsrfToken } from '../../platform/http/middleware/csrf.ts';
import { rememberDevice, signInClient } from './device-cookie.ts';

type Details = InteractionDetails;

const SCOPE_LABELS: Record<string, string> = {
  openid: 'Confirm your identity',
  profile: 'Read your name and username',
  email: 'Read your email address',
  offline_access: 'Stay signed in (keep access while you are away)',
};

/**
 * Where the organization sign-in methods (src/features/sign-in-methods) join the login step: a
 * sign-in started elsewhere, the methods page for a typed identifier, disable-password-login.
 */
export interface SignInHooks {
  /** The login page is about to show: answers true when the hook answered instead. */
  onLoginPage(ctx: Context, d: Details): Promise<boolean>;
  /** An identifier and no password: show the methods its organization offers. */
  chooseMethod(ctx: Context, d: Details, username: string, error?: string): Promise<void>;
  /**
   * Asked once the password has checked out (so it costs no extra database read and tells nothing
   * before the password is right): answers true, having answered, when password sign-in is turned
   * off for this account.
   */
  passwordRefused(ctx: Context, d: Details, account: Account): Promise<boolean>;
}

export interface InteractionDeps {
  provider: Provider;
  accounts: AccountService;
  views: Views;
  signIn?: SignInHooks;
}

export function registerInteractionRoutes(
  router: Router,
  { provider, accounts, views, signIn }: InteractionDeps,
): void {
  const details = (ctx: Context) => loadInteraction(provider, ctx);
  const clientName = (d: Details) => clientNameOf(provider, d);

  function renderLogin(
    ctx: Context,
    d: Details,
    name: string,
    extra: { error?: string; username?: string } = {},
  ) {
    ctx.type = 'html';
    ctx.body = views.render('sign-in/login.njk', {
      uid: d.uid,
      clientName: name,
      csrf: issueCsrfToken(ctx, d.uid),
      username:
        extra.username ?? (typeof d.params.login_hint === 'string' ? d.params.login_hint : ''),
      error: extra.error,
    });
  }

  async function grantConsent(d: Details): Promise<string> {
    const {
      prompt: { details: missing },
      params,
      session,
    } = d;
    const grant = d.grantId
      ? (await provider.Grant.find(d.grantId))!
      : new provider.Grant({ accountId: session!.accountId, clientId: String(params.client_id) });
    const scopes = missing.missingOIDCScope as string[] | undefined;
    const claims = missing.missingOIDCClaims as string[] | undefined;
    const resources = missing.missingResourceScopes as Record<string, string[]> | undefined;
    if (scopes?.length) grant.addOIDCScope(scopes.join(' '));
    if (claims?.length) grant.addOIDCClaims(claims);
    for (const [indicator, s] of Object.entries(resources ?? {}))
      grant.addResourceScope(indicator, s.join(' '));
    return grant.save();
  }

  router.get('/interaction/:uid', async (ctx) => {
    const d = await details(ctx);
    ctx.set('Cache-Control', 'no-store');
    const name = await clientName(d);
    if (d.prompt.name === 'login')
      return (await signIn?.onLoginPage(ctx, d)) || renderLogin(ctx, d, name);
    if (d.prompt.name === 'mfa') return ctx.redirect(`/interaction/${d.uid}/mfa`);
    if (d.prompt.name === 'consent') {
      const client = await provider.Client.find(String(d.params.client_id));
      if (isFirstParty(client))
        return void (await finishInteraction(ctx, d, {
          consent: { grantId: await grantConsent(d) },
        }));
      const scopes = String(d.params.scope ?? '')
        .split(' ')
        .filter(Boolean);
      ctx.type = 'html';
      ctx.body = views.render('sign-in/consent.njk', {
        uid: d.uid,
        clientName: name,
        csrf: issueCsrfToken(ctx, d.uid),
        scopes: scopes.map((s) => ({ name: s, label: SCOPE_LABELS[s] ?? s })),
      });
      return;
    }
    throw new AppError('invalid_request', `Unsupported sign-in step "${d.prompt.name}".`);
  });

  router.post('/interaction/:uid/login', async (ctx) => {
    const d = await details(ctx);
    const form = (ctx.request.body ?? {}) as Record<string, unknown>;
    verifyCsrfToken(ctx, d.uid, form._csrf);
    if (d.prompt.name !== 'login')
      throw new AppError('invalid_request', 'This sign-in step is already complete.');
    const username = typeof form.username === 'string' ? form.username.trim().slice(0, 320) : '';
    const password = typeof form.password === 'string' ? form.password.slice(0, 4096) : '';
    const name = await clientName(d);
    if (signIn && username && (!password || form.next === 'methods'))
      return signIn.chooseMethod(ctx, d, username);
    if (!username || !password) {
      ctx.status = 400;
      return renderLogin(ctx, d, name, {
        error: 'Enter your username or email and your password.',
        username,
      });
    }
    try {
      const account = await accounts.authenticate(username, password, signInClient(ctx));
      if (await signIn?.passwordRefused(ctx, d, account)) return;
      rememberDevice(ctx, account.id);
      await finishInteraction(ctx, d, {
        login: { accountId: account.id, amr: ['pwd'], acr: ACR_PWD, remember: true },
      });
    } catch (err) {
      if (
        !(err instanceof AppError) ||
        !['unauthenticated', 'rate_limited', 'forbidden'].includes(err.code)
      )
        throw err;
      ctx.status = err.status;
      for (const [k, v] of Object.entries(err.headers)) ctx.set(k, v);
      renderLogin(ctx, d, name, { error: err.message, username });
    }
  });

  router.post('/interaction/:uid/consent', async (ctx) => {
    const d = await details(ctx);
    verifyCsrfToken(ctx, d.uid, (ctx.request.body as Record<string, unknown> | undefined)?._csrf);
    if (d.prompt.name !== 'consent')
      throw new AppError('invalid_request', 'There is nothing to approve in this sign-in.');
    await finishInteraction(ctx, d, { consent: { grantId: await grantConsent(d) } });
  });

  router.post('/interaction/:uid/abort', async (ctx) => {
    const d = await details(ctx);
    verifyCsrfToken(ctx, d.uid, (ctx.request.body as Record<string, unknown> | undefined)?._csrf);
    await finishInteraction(ctx, d, {
      error: 'access_denied',
      error_description: 'The user cancelled the sign-in.',
    });
  });
}
