/**
 * Account > Authentication > 2-Step Verification: status, authenticator-app setup (QR code),
 * security keys, recovery codes, removal and "Turn Off", sudo re-verification, and signing out
 * other sessions after a change.
 */
import type { Context } from 'koa';
import { AppError } from '../../platform/errors/app-error.ts';
import type { FeatureContext } from '../../platform/feature.ts';
import type { MfaFeatureDeps } from './mfa-parts.ts';
import type { Principal } from '../../platform/auth/principal.ts';
import { requestInfo } from '../../platform/http/request-info.ts';
import { verifySudo } from './mfa-api-routes.ts';
import { sudoOrVerify } from '../../platform/pages/sudo-redirect.ts';

const FLASH: Record<string, string> = {
  removed: 'The factor was removed.',
  off: '2-step verification is off.',
  signedout: 'Your other sessions were signed out.',
  key: 'Security key added.',
};

export function registerMfaPages({ router, nav, kit }: FeatureContext, deps: MfaFeatureDeps): void {
  const { mfa, sudo } = deps.mfa;
  nav.add({ href: '/account/mfa', label: '2-Step Verification', group: 'Authentication' });

  /** Runs a sensitive change; sends the user to confirm it's them first when needed. */
  const guarded = async (ctx: Context, p: Principal, action: string, run: () => Promise<void>) => {
    if (!(await sudoOrVerify(ctx, sudo, p, action, ctx.method === 'GET' ? ctx.originalUrl : '/account/mfa'))) return;
    try {
      await run();
    } catch (err) {
      if (!(err instanceof AppError) || err.status >= 500) throw err;
      ctx.status = err.status;
      await renderManage(ctx, p, err.message);
    }
  };

  async function renderManage(ctx: Context, p: Principal, error?: string) {
    const [factors, req] = await Promise.all([mfa.factors(p.account.id), mfa.requirement(p.account.id)]);
    kit.render(ctx, p, 'account/mfa.njk', {
      factors, otp: factors.find((f) => f.type === 'otp'), keys: factors.filter((f) => f.type === 'webauthn'), requirement: req,
      recoveryLeft: await mfa.recoveryCodesLeft(p.account.id), error, flash: FLASH[String(ctx.query.done ?? '')],
      offerSignOut: ['removed', 'off', 'key', 'added'].includes(String(ctx.query.done ?? '')),
    });
  }

  router.get('/account/mfa', async (ctx) => {
    const p = await kit.signedIn(ctx);
    if (p) await renderManage(ctx, p);
  });

  router.get('/account/mfa/authenticator', async (ctx) => {
    const p = await kit.signedIn(ctx);
    if (!p) return;
    await guarded(ctx, p, 'set up an authenticator app', async () => {
      kit.render(ctx, p, 'account/mfa-authenticator.njk', { setup: await mfa.startOtpSetup(p.account) });
    });
  });

  router.post('/account/mfa/authenticator', async (ctx) => {
    const p = await kit.signedIn(ctx);
    if (!p) return;
    const body = kit.form(ctx, p);
    await guarded(ctx, p, 'set up an authenticator app', async () => {
      const code = String(body.code ?? '').trim();
      try {
        if (!/^\d{6}$/.test(code)) throw new AppError('validation_failed', 'Enter the 6-digit code shown in your authenticator app.');
        const { recoveryCodes } = await mfa.confirmOtpSetup(p.account, code, requestInfo(ctx));
        await deps.mfa.sessions.keep(p.sessionUid!);
        kit.render(ctx, p, 'account/mfa-done.njk', { recoveryCodes, title: 'MFA setup successful' });
      } catch (err) {
        if (!(err instanceof AppError) || err.status >= 500) throw err;
        ctx.status = err.status;
        kit.render(ctx, p, 'account/mfa-authenticator.njk', { setup: await mfa.startOtpSetup(p.account), error: err.message });
      }
    });
  });

  router.post('/account/mfa/factors/:id/delete', async (ctx) => {
    const p = await kit.signedIn(ctx);
    if (!p) return;
    kit.form(ctx, p);
    await guarded(ctx, p, 'remove a second factor', async () => {
      await mfa.removeFactor(p.account, ctx.params.id, requestInfo(ctx));
      ctx.redirect('/account/mfa?done=removed');
    });
  });

  router.post('/account/mfa/off', async (ctx) => {
    const p = await kit.signedIn(ctx);
    if (!p) return;
    kit.form(ctx, p);
    await guarded(ctx, p, 'turn off 2-step verification', async () => {
      await mfa.turnOff(p.account, requestInfo(ctx));
      ctx.redirect('/account/mfa?done=off');
    });
  });

  router.post('/account/mfa/recovery-codes', async (ctx) => {
    const p = await kit.signedIn(ctx);
    if (!p) return;
    kit.form(ctx, p);
    await guarded(ctx, p, 'create new recovery codes', async () => {
      kit.render(ctx, p, 'account/mfa-done.njk', { recoveryCodes: await mfa.regenerateRecoveryCodes(p.account, requestInfo(ctx)), title: 'New recovery codes' });
    });
  });

  router.post('/account/sessions/others/delete', async (ctx) => {
    const p = await kit.signedIn(ctx);
    if (!p) return;
    kit.form(ctx, p);
    const revoked = await deps.payloads.deleteSessions(p.account.id, p.sessionUid);
    await deps.audit.record({ type: 'sessions.revoked_others', accountId: p.account.id, request: requestInfo(ctx), details: { count: revoked } });
    ctx.redirect('/account/mfa?done=signedout');
  });

  router.get('/account/verify', async (ctx) => {
    const p = await kit.signedIn(ctx);
    if (!p) return;
    const next = typeof ctx.query.next === 'string' && /^\/(?![/\\])/.test(ctx.query.next) ? ctx.query.next : '/account';
    const factors = await mfa.factors(p.account.id);
    kit.render(ctx, p, 'account/verify.njk', { next, hasMfa: factors.length > 0, hasOtp: factors.some((f) => f.type === 'otp'), hasKeys: factors.some((f) => f.type === 'webauthn') });
  });

  router.post('/account/verify', async (ctx) => {
    const p = await kit.signedIn(ctx);
    if (!p) return;
    const body = kit.form(ctx, p);
    const next = typeof body.next === 'string' && /^\/(?![/\\])/.test(body.next) ? body.next : '/account';
    const factors = await mfa.factors(p.account.id);
    try {
      await verifySudo(ctx, deps, p, { method: String(body.method ?? (factors.length ? 'otp' : 'password')), code: String(body.code ?? ''), password: String(body.password ?? '') });
      ctx.redirect(next);
    } catch (err) {
      if (!(err instanceof AppError) || err.status >= 500) throw err;
      ctx.status = err.status;
      kit.render(ctx, p, 'account/verify.njk', { next, hasMfa: factors.length > 0, hasOtp: factors.some((f) => f.type === 'otp'), hasKeys: factors.some((f) => f.type === 'webauthn'), error: err.message });
    }
  });

}
