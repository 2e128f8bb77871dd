/**
 * Enrolment inside sign-in: when an organization enforces MFA (or a client asks for it) and the
 * user has no suitable factor, they set one up before continuing — an authenticator app, or a
 * security key when keys are required — then see their recovery codes once.
 */
import type Router from '@koa/router';
import type { Context } from 'koa';
import { AppError } from '../../platform/errors/app-error.ts';
import type { ChallengeRepository } from '../../platform/store/challenge-repository.ts';
import { skipEnrolment } from './mfa-decision.ts';
import { ACR_PWD } from '../../platform/auth/second-factor.ts';
import { issueCsrfToken, verifyCsrfToken } from '../../platform/http/middleware/csrf.ts';
import { requestInfo } from '../../platform/http/request-info.ts';
import { clientNameOf, finishInteraction } from '../../platform/oidc/interaction-kit.ts';
import {
  completeMfa,
  loadMfaStep,
  type MfaInteractionDeps,
  type MfaStep,
} from './mfa-interaction-routes.ts';

export function registerMfaEnrollRoutes(
  router: Router,
  deps: MfaInteractionDeps & { challenges: ChallengeRepository; now: () => number },
): void {
  const { provider, accounts, mfa, webauthn, views, challenges } = deps;
  const step = async (ctx: Context) => {
    const s = await loadMfaStep(provider, accounts, ctx);
    if (s.decision.need !== 'enroll')
      throw new AppError('invalid_request', 'There is nothing to set up in this sign-in.');
    return s;
  };

  async function renderEnroll(ctx: Context, s: MfaStep, error?: string) {
    ctx.set('Cache-Control', 'no-store');
    ctx.type = 'html';
    ctx.body = views.render('mfa/enroll.njk', {
      uid: s.d.uid,
      clientName: await clientNameOf(provider, s.d),
      csrf: issueCsrfToken(ctx, s.d.uid),
      decision: s.decision,
      error,
      otp: s.decision.webauthnOnly ? undefined : await mfa.startOtpSetup(s.account),
    });
  }

  function renderCodes(ctx: Context, s: MfaStep, codes: string[] | undefined) {
    ctx.type = 'html';
    ctx.body = views.render('mfa/recovery-codes.njk', {
      uid: s.d.uid,
      csrf: issueCsrfToken(ctx, s.d.uid),
      codes,
      continueUrl: `/interaction/${s.d.uid}/mfa/continue`,
    });
  }

  router.get('/interaction/:uid/mfa/enroll', async (ctx) => renderEnroll(ctx, await step(ctx)));

  router.post('/interaction/:uid/mfa/enroll/otp', async (ctx) => {
    const s = await step(ctx);
    const body = (ctx.request.body ?? {}) as Record<string, unknown>;
    verifyCsrfToken(ctx, s.d.uid, body._csrf);
    if (s.decision.webauthnOnly)
      throw new AppError(
        'forbidden',
        'Your organization requires a security key; an authenticator app is not enough.',
      );
    try {
      const { recoveryCodes } = await mfa.confirmOtpSetup(
        s.account,
        String(body.code ?? '').slice(0, 16),
        requestInfo(ctx),
      );
      await challenges.put(`mfa-done:${s.d.uid}`, 'otp', 900);
      renderCodes(ctx, s, recoveryCodes);
    } catch (err) {
      if (
        !(err instanceof AppError) ||
        !['unauthenticated', 'rate_limited', 'not_found'].includes(err.code)
      )
        throw err;
      ctx.status = err.status;
      await renderEnroll(ctx, s, err.message);
    }
  });

  router.post('/interaction/:uid/mfa/enroll/webauthn/options', async (ctx) => {
    const s = await step(ctx);
    verifyCsrfToken(ctx, s.d.uid, ctx.get('x-csrf-token'));
    ctx.body = await webauthn.registrationOptions(s.account);
  });

  router.post('/interaction/:uid/mfa/enroll/webauthn', async (ctx) => {
    const s = await step(ctx);
    verifyCsrfToken(ctx, s.d.uid, ctx.get('x-csrf-token'));
    const body = (ctx.request.body ?? {}) as { response?: unknown; name?: unknown };
    const firstFactor = !(await mfa.hasMfa(s.account.id));
    const factor = await webauthn.register(
      s.account,
      typeof body.name === 'string' ? body.name : 'Security key',
      body.response,
      requestInfo(ctx),
    );
    if (s.decision.fips && !webauthn.isFips(factor)) {
      throw new AppError(
        'forbidden',
        'Your organization requires a FIPS-certified security key; this key was saved but does not satisfy the policy.',
      );
    }
    await mfa.discardPendingSetup(s.account.id);
    await challenges.put(
      `mfa-done:${s.d.uid}`,
      factor.webauthn!.deviceType === 'multiDevice' ? 'swk' : 'hwk',
      900,
    );
    ctx.body = {
      recoveryCodes: firstFactor
        ? await mfa.regenerateRecoveryCodes(s.account, requestInfo(ctx))
        : [],
      continueUrl: `/interaction/${s.d.uid}/mfa/continue`,
    };
  });

  router.post('/interaction/:uid/mfa/continue', async (ctx) => {
    const s = await loadMfaStep(provider, accounts, ctx);
    verifyCsrfToken(ctx, s.d.uid, (ctx.request.body as Record<string, unknown> | undefined)?._csrf);
    const method = await challenges.take(`mfa-done:${s.d.uid}`);
    if (!method) throw new AppError('invalid_request', 'Set up a second factor first.');
    await completeMfa(ctx, s, [method]);
  });

  router.post('/interaction/:uid/mfa/skip', async (ctx) => {
    const s = await step(ctx);
    verifyCsrfToken(ctx, s.d.uid, (ctx.request.body as Record<string, unknown> | undefined)?._csrf);
    if (!s.decision.skippableUntil)
      throw new AppError(
        'forbidden',
        'Your organization requires 2-step verification now; it cannot be skipped.',
      );
    await skipEnrolment(s.account.id, new Date(s.decision.skippableUntil), deps);
    const amr = (s.d.session as { amr?: string[] } | undefined)?.amr ?? ['pwd'];
    await finishInteraction(ctx, s.d, {
      login: { accountId: s.account.id, amr, acr: ACR_PWD, remember: true },
    });
  });
}
