/**
 * The second sign-in step (`mfa` prompt): an authenticator code, a recovery code, or a security
 * key; or, when a policy or the client requires a factor the user lacks, enrolment (see
 * mfa-enroll-routes.ts). Completing it re-submits the login with the new amr and acr.
 */
import type Router from '@koa/router';
import type { Context } from 'koa';
import type Provider from 'oidc-provider';
import { AppError } from '../../platform/errors/app-error.ts';
import type { AccountService } from '../../platform/directory/account-service.ts';
import type { MfaService } from './mfa-service.ts';
import type { WebAuthnService } from './webauthn-service.ts';
import type { MfaDecision } from './mfa-decision.ts';
import type { Account } from '../../platform/directory/account-repository.ts';
import { ACR_MFA } from '../../platform/auth/second-factor.ts';
import type { Views } from '../../platform/http/views.ts';
import { issueCsrfToken, verifyCsrfToken } from '../../platform/http/middleware/csrf.ts';
import { requestInfo } from '../../platform/http/request-info.ts';
import {
  clientNameOf,
  finishInteraction,
  loadInteraction,
  type InteractionDetails,
} from '../../platform/oidc/interaction-kit.ts';

export interface MfaStep {
  d: InteractionDetails;
  account: Account;
  decision: MfaDecision & { requested?: boolean };
}

export interface MfaInteractionDeps {
  provider: Provider;
  accounts: AccountService;
  mfa: MfaService;
  webauthn: WebAuthnService;
  views: Views;
}

/** Loads the interaction at its `mfa` step with its signed-in (password-verified) account. */
export async function loadMfaStep(
  provider: Provider,
  accounts: AccountService,
  ctx: Context,
): Promise<MfaStep> {
  const d = await loadInteraction(provider, ctx);
  if (d.prompt.name !== 'mfa' || !d.session?.accountId)
    throw new AppError(
      'invalid_request',
      'This sign-in step is already complete. Go back to the application.',
    );
  const account = await accounts.findById(d.session.accountId);
  if (!account || account.disabled) throw new AppError('forbidden', 'This account cannot sign in.');
  return { d, account, decision: d.prompt.details as unknown as MfaStep['decision'] };
}

/** Finishes the step: the session now carries the second factor. */
export async function completeMfa(ctx: Context, step: MfaStep, amr: string[]): Promise<string> {
  const previous = (step.d.session as { amr?: string[] } | undefined)?.amr ?? ['pwd'];
  const all = [...new Set([...previous, ...amr])];
  if (all.length >= 2) all.push('mfa');
  return finishInteraction(ctx, step.d, {
    login: { accountId: step.account.id, amr: [...new Set(all)], acr: ACR_MFA, remember: true },
  });
}

export function registerMfaInteractionRoutes(router: Router, deps: MfaInteractionDeps): void {
  const { provider, accounts, mfa, webauthn, views } = deps;
  const step = (ctx: Context) => loadMfaStep(provider, accounts, ctx);

  async function render(ctx: Context, s: MfaStep, extra: { error?: string; method?: string } = {}) {
    ctx.set('Cache-Control', 'no-store');
    ctx.type = 'html';
    ctx.body = views.render('mfa/challenge.njk', {
      uid: s.d.uid,
      clientName: await clientNameOf(provider, s.d),
      csrf: issueCsrfToken(ctx, s.d.uid),
      decision: s.decision,
      // A security key first when the user has one (phishing-resistant); the app and recovery codes stay offered.
      username: s.account.username,
      method:
        extra.method ??
        (s.decision.webauthnOnly || s.decision.hasKeys || !s.decision.hasOtp ? 'webauthn' : 'otp'),
      recoveryLeft: await mfa.recoveryCodesLeft(s.account.id),
      error: extra.error,
    });
  }

  router.get('/interaction/:uid/mfa', async (ctx) => {
    const s = await step(ctx);
    if (s.decision.need === 'enroll') return ctx.redirect(`/interaction/${s.d.uid}/mfa/enroll`);
    await render(ctx, s, {
      method: typeof ctx.query.method === 'string' ? ctx.query.method : undefined,
    });
  });

  for (const method of ['otp', 'recovery'] as const) {
    router.post(`/interaction/:uid/mfa/${method}`, async (ctx) => {
      const s = await step(ctx);
      const body = (ctx.request.body ?? {}) as Record<string, unknown>;
      verifyCsrfToken(ctx, s.d.uid, body._csrf);
      if (s.decision.webauthnOnly)
        throw new AppError('forbidden', 'Your organization requires a security key to sign in.');
      const code = typeof body.code === 'string' ? body.code.slice(0, 64) : '';
      try {
        if (method === 'otp' && !/^\s*\d{6}\s*$/.test(code))
          throw new AppError(
            'validation_failed',
            'Enter the 6-digit code from your authenticator app.',
          );
        await completeMfa(ctx, s, await mfa.verify(s.account.id, method, code, requestInfo(ctx)));
      } catch (err) {
        if (
          !(err instanceof AppError) ||
          !['unauthenticated', 'rate_limited', 'validation_failed'].includes(err.code)
        )
          throw err;
        ctx.status = err.status;
        for (const [k, v] of Object.entries(err.headers)) ctx.set(k, v);
        await render(ctx, s, { error: err.message, method });
      }
    });
  }

  router.post('/interaction/:uid/mfa/webauthn/options', async (ctx) => {
    const s = await step(ctx);
    verifyCsrfToken(ctx, s.d.uid, ctx.get('x-csrf-token'));
    ctx.body = await webauthn.authenticationOptions(
      s.account.id,
      `interaction:${s.d.uid}`,
      s.decision.fips,
    );
  });

  router.post('/interaction/:uid/mfa/webauthn', async (ctx) => {
    const s = await step(ctx);
    verifyCsrfToken(ctx, s.d.uid, ctx.get('x-csrf-token'));
    const amr = await webauthn.authenticate(
      s.account.id,
      `interaction:${s.d.uid}`,
      (ctx.request.body as { response?: unknown })?.response,
      requestInfo(ctx),
      s.decision.fips,
    );
    const url = await completeMfa(ctx, s, amr);
    ctx.remove('Location');
    ctx.status = 200;
    ctx.body = { redirect: url };
  });
}
