/**
 * The organization sign-in methods inside oidc-provider's sign-in interaction: the methods page
 * for a typed identifier, the hop to the upstream IdP and back (`/api/auth/sso/oidc/*`, contract
 * §2.1), and LDAP sign-in. Every path ends like a password sign-in: `finishInteraction` with a
 * login result (account, amr, acr), so the MFA prompt, consent, the device flow and the platform's
 * code flow run unchanged after it.
 *
 * The upstream round trip is bound three ways: `state` names a stored transaction (single use),
 * the transaction is bound to this browser (a random cookie, stored as its hash), and it belongs to
 * one interaction (whose own cookie the final step needs).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import type Provider from 'oidc-provider';
import { AppError } from '../../platform/errors/app-error.ts';
import type { Views } from '../../platform/http/views.ts';
import { issueCsrfToken, verifyCsrfToken } from '../../platform/http/middleware/csrf.ts';
import { rememberDevice, signInClient } from '../sign-in/device-cookie.ts';
import { requestInfo } from '../../platform/http/request-info.ts';
import {
  clientNameOf,
  finishInteraction,
  loadInteraction,
  type InteractionDetails,
} from '../../platform/oidc/interaction-kit.ts';
import { ACR_MFA, ACR_PWD } from '../../platform/auth/second-factor.ts';
import type { OnceClaims } from '../../platform/store/once-marker-repository.ts';
import type { SignInMethodRepository, StoredMethod } from './sign-in-method-repository.ts';
import type { FederatedSignIn } from './federated-sign-in.ts';
import type { SignInHooks } from '../sign-in/interaction-routes.ts';
import { authorizationUrl, newNonce, newPkce, newState, redeem } from './oidc-relying-party.ts';

const BROWSER_COOKIE = 'kw.sso';
const START_COOKIE = 'kw.sso.start';
const TX_SECONDS = 600;
export const CALLBACK_PATH = '/api/auth/sso/oidc/callback';

export interface SignInPagesDeps {
  provider: Provider;
  views: Views;
  signIn: FederatedSignIn;
  repo: SignInMethodRepository;
  once: OnceClaims;
  baseUrl: string;
  now: () => number;
  /** How long a provider session may last (how long the upstream's acr of its sign-in is kept). */
  sessionSeconds: number;
}

const sha256 = (v: string) => createHash('sha256').update(v).digest();

/** The amr and acr a federated OIDC sign-in records (skipMfaVerification: the upstream's MFA counts). */
export function federatedEvidence(
  m: StoredMethod,
  upstreamAmr: string[],
): { amr: string[]; acr: string } {
  if (m.settings.skipMfaVerification === true)
    return { amr: [...new Set(['fed', ...upstreamAmr, 'mfa'])], acr: ACR_MFA };
  return { amr: ['fed'], acr: ACR_PWD };
}

export function signInPages(deps: SignInPagesDeps) {
  const { provider, views, signIn, repo, once, baseUrl, now, sessionSeconds } = deps;

  function browserBinding(ctx: Context): string {
    const current = ctx.cookies.get(BROWSER_COOKIE, { signed: true });
    const value =
      current && /^[\w-]{43}$/.test(current) ? current : randomBytes(32).toString('base64url');
    ctx.cookies.set(BROWSER_COOKIE, value, {
      signed: true,
      httpOnly: true,
      sameSite: 'lax',
      secure: ctx.secure,
      maxAge: TX_SECONDS * 1000,
      overwrite: true,
    });
    return value;
  }

  function boundToBrowser(ctx: Context, browserHash: string): boolean {
    const value = ctx.cookies.get(BROWSER_COOKIE, { signed: true });
    return !!value && timingSafeEqual(sha256(value), Buffer.from(browserHash, 'base64url'));
  }

  const mismatch = () =>
    new AppError(
      'invalid_request',
      'This sign-in response does not match a sign-in started in this browser. Go back to the application and sign in again.',
    );

  async function render(ctx: Context, d: InteractionDetails, username: string, error?: string) {
    const options = await signIn.optionsFor(username);
    ctx.set('Cache-Control', 'no-store');
    ctx.type = 'html';
    ctx.body = views.render('sign-in-methods/choose.njk', {
      uid: d.uid,
      clientName: await clientNameOf(provider, d),
      csrf: issueCsrfToken(ctx, d.uid),
      username,
      error,
      oidc: options.methods.filter((m) => m.type === 'oidc'),
      ldap: options.methods.filter((m) => m.type === 'ldap'),
      password: options.password,
      directoryUsername: options.byOrganizationName ? '' : username,
      byOrganization: options.byOrganizationName === true,
      organizationName: options.organization?.displayName || options.organization?.name,
    });
  }

  /** Sends the browser to the method's IdP for this interaction. */
  async function startUpstream(
    ctx: Context,
    d: InteractionDetails,
    methodId: string,
  ): Promise<void> {
    const m = await signIn.findById(methodId);
    if (!m || m.type !== 'oidc') throw new AppError('not_found', 'No such single sign-on method.');
    const config = await signIn.relyingParty(m);
    const [state, nonce, pkce] = [newState(), newNonce(), await newPkce()];
    await repo.saveTransaction({
      id: state,
      methodId: m.id,
      interactionUid: d.uid,
      browserHash: sha256(browserBinding(ctx)).toString('base64url'),
      codeVerifier: pkce.verifier,
      nonce,
      expiresAt: new Date(now() + TX_SECONDS * 1000),
    });
    const url = authorizationUrl(config, {
      redirectUri: `${baseUrl}${CALLBACK_PATH}`,
      scopes: String(m.settings.scopes ?? ''),
      state,
      nonce,
      codeChallenge: pkce.challenge,
    });
    ctx.status = 303;
    ctx.redirect(url.toString());
  }

  const hooks: SignInHooks = {
    async onLoginPage(ctx, d) {
      const pending = ctx.cookies.get(START_COOKIE, { signed: true });
      if (!pending) return false;
      ctx.cookies.set(START_COOKIE, null);
      await startUpstream(ctx, d, pending);
      return true;
    },
    async chooseMethod(ctx, d, username, error) {
      await render(ctx, d, username, error);
    },
    async passwordRefused(ctx, d, account) {
      const org = await signIn.passwordDisabledFor(account);
      if (!org) return false;
      ctx.status = 403;
      await render(
        ctx,
        d,
        account.username,
        `Password sign-in is turned off for ${org.displayName || org.name}. Use one of its sign-in methods.`,
      );
      return true;
    },
  };

  function register(router: Router): void {
    router.post('/interaction/:uid/sso/:methodId', async (ctx) => {
      const d = await loadInteraction(provider, ctx);
      verifyCsrfToken(ctx, d.uid, (ctx.request.body as Record<string, unknown> | undefined)?._csrf);
      if (d.prompt.name !== 'login')
        throw new AppError('invalid_request', 'This sign-in step is already complete.');
      await startUpstream(ctx, d, ctx.params.methodId);
    });

    // Contract §2.1: 204 with Location and Set-Cookie. The sign-in runs inside Keyward's own
    // sign-in (its interaction), which picks the method up from the cookie.
    router.get('/api/auth/sso/oidc/redirect/:authID', async (ctx) => {
      // Another site may not pick the method for this browser's next sign-in (a login CSRF).
      if (ctx.get('sec-fetch-site') === 'cross-site')
        throw new AppError('forbidden', 'A sign-in can only be started from this site.');
      const m = await signIn.findById(ctx.params.authID);
      if (!m || m.type !== 'oidc')
        throw new AppError('not_found', `No OIDC sign-in method "${ctx.params.authID}".`);
      ctx.cookies.set(START_COOKIE, m.id, {
        signed: true,
        httpOnly: true,
        sameSite: 'lax',
        secure: ctx.secure,
        maxAge: TX_SECONDS * 1000,
      });
      ctx.set('Cache-Control', 'no-store');
      ctx.set('Location', `${baseUrl}/signin`);
      ctx.status = 204;
    });

    // The IdP sends the browser here (a top-level navigation), so this answers 303, not the
    // contract's 204 (which a browser would not follow).
    router.get(CALLBACK_PATH, async (ctx) => {
      const state = typeof ctx.query.state === 'string' ? ctx.query.state : '';
      const tx = state ? await repo.findTransaction(state) : undefined;
      if (!tx || tx.result || !boundToBrowser(ctx, tx.browserHash)) throw mismatch();
      if (!(await once.claim(`sso-callback:${state}`, tx.expiresAt))) throw mismatch();
      if (ctx.query.error === 'access_denied')
        return ctx.redirect(`/interaction/${tx.interactionUid}`);
      if (ctx.query.error)
        throw new AppError(
          'forbidden',
          `Your organization's identity provider did not sign you in: ${String(ctx.query.error_description ?? ctx.query.error).slice(0, 300)}`,
        );
      const m = await signIn.findById(tx.methodId);
      if (!m) throw new AppError('not_found', 'This sign-in method no longer exists.');
      const identity = await redeem(
        await signIn.relyingParty(m),
        new URL(`${baseUrl}${CALLBACK_PATH}?${ctx.querystring}`),
        { state, nonce: tx.nonce, codeVerifier: tx.codeVerifier },
      );
      const { account } = await signIn.resolveOidc(m, identity, requestInfo(ctx));
      await repo.saveTransaction({
        ...tx,
        result: {
          accountId: account.id,
          ...federatedEvidence(m, identity.amr),
          upstream: { acr: identity.acr, amr: identity.amr },
        },
      });
      ctx.status = 303;
      ctx.redirect(`/interaction/${tx.interactionUid}/sso/done?state=${encodeURIComponent(state)}`);
    });

    router.get('/interaction/:uid/sso/done', async (ctx) => {
      const d = await loadInteraction(provider, ctx);
      const state = typeof ctx.query.state === 'string' ? ctx.query.state : '';
      const tx = state ? await repo.findTransaction(state) : undefined;
      if (!tx?.result || tx.interactionUid !== d.uid || !boundToBrowser(ctx, tx.browserHash))
        throw mismatch();
      if (d.prompt.name !== 'login')
        throw new AppError('invalid_request', 'This sign-in step is already complete.');
      if (!(await once.claim(`sso-done:${state}`, tx.expiresAt))) throw mismatch();
      await repo.deleteTransaction(state);
      rememberDevice(ctx, tx.result.accountId);
      // The sign-in's time is set here so the upstream's own acr can be found again by it (`upstream_acr` claim).
      const ts = Math.floor(Date.now() / 1000); // the provider's own clock, from which it sets the session's loginTs
      if (tx.result.upstream?.acr) {
        await repo.recordUpstream(tx.result.accountId, ts, {
          ...tx.result.upstream,
          methodId: tx.methodId,
          expiresAt: new Date(now() + sessionSeconds * 1000),
        });
      }
      await finishInteraction(ctx, d, {
        login: {
          accountId: tx.result.accountId,
          amr: tx.result.amr,
          acr: tx.result.acr,
          remember: true,
          ts,
        },
      });
    });

    router.post('/interaction/:uid/ldap/:methodId', async (ctx) => {
      const d = await loadInteraction(provider, ctx);
      const form = (ctx.request.body ?? {}) as Record<string, unknown>;
      verifyCsrfToken(ctx, d.uid, form._csrf);
      if (d.prompt.name !== 'login')
        throw new AppError('invalid_request', 'This sign-in step is already complete.');
      const m = await signIn.findById(ctx.params.methodId);
      if (!m || m.type !== 'ldap')
        throw new AppError('not_found', 'No such directory sign-in method.');
      const username = typeof form.username === 'string' ? form.username.trim().slice(0, 320) : '';
      const password = typeof form.password === 'string' ? form.password.slice(0, 4096) : '';
      try {
        if (!username || !password)
          throw new AppError('validation_failed', 'Enter your directory password.');
        const { account } = await signIn.ldapSignIn(
          m,
          username,
          password,
          signInClient(ctx),
          requestInfo(ctx),
        );
        rememberDevice(ctx, account.id);
        await finishInteraction(ctx, d, {
          login: { accountId: account.id, amr: ['pwd'], acr: ACR_PWD, remember: true },
        });
      } catch (err) {
        if (
          !(err instanceof AppError) ||
          ![
            'unauthenticated',
            'rate_limited',
            'forbidden',
            'validation_failed',
            'conflict',
          ].includes(err.code)
        )
          throw err;
        ctx.status = err.status;
        for (const [k, v] of Object.entries(err.headers)) ctx.set(k, v);
        await render(ctx, d, username, err.message);
      }
    });
  }

  /** GET /api/oidc/sso/{authMethodId}/sector-identifier (contract §2.4): in front of the provider's mount. */
  const sectorIdentifier: Middleware = async (ctx, next) => {
    const match =
      ctx.method === 'GET' ? /^\/api\/oidc\/sso\/([^/]+)\/sector-identifier$/.exec(ctx.path) : null;
    if (!match) return next();
    const m = await signIn.findById(decodeURIComponent(match[1]));
    if (!m || m.type !== 'oidc') throw new AppError('not_found', 'No such OIDC sign-in method.');
    const hosts = (m.settings.sectorIdentifierHostnames as string[] | undefined) ?? [];
    ctx.set('Cache-Control', 'public, max-age=300');
    ctx.body = [`${baseUrl}${CALLBACK_PATH}`, ...hosts.map((h) => `https://${h}${CALLBACK_PATH}`)];
  };

  return { hooks, register, sectorIdentifier };
}
