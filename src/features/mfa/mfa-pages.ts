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
import { accountForm, noFields, field } from '../../platform/pages/account-form.ts';
import { z } from 'zod';

const FLASH: Record<string, string> = {
  removed: 'The factor was removed.',
  off: '2-step verification is off.',
  signedout: 'Your other sessions were signed out.',
  key: 'Security key added.',
};

export function registerMfaPages({ router, nav, kit }: FeatureContext, deps: MfaFeatureDeps): void {
  const { mfa, sudo } = deps.mfa;
  nav.add({
    href: '/account/mfa',
    label: '2-Step Verification',
    group: 'Authentication',
    order: 30,
    description: 'A second step after your password: an authenticator app or a security key.',
    status: async (p) =>
      (await mfa.factors(p.account.id)).length
        ? { text: 'On', on: true }
        : { text: 'Off', on: false },
  });
  const MANAGE = '/account/mfa';
  const back = () => MANAGE;

  /** Runs a sensitive change; sends the user to confirm it's them first when needed. */
  const guarded = async (ctx: Context, p: Principal, action: string, run: () => Promise<void>) => {
    if (
      !(await sudoOrVerify(
        ctx,
        sudo,
        p,
        action,
        ctx.method === 'GET' ? ctx.originalUrl : '/account/mfa',
      ))
    )
      return;
    try {
      await run();
    } catch (err) {
      if (!(err instanceof AppError) || err.status >= 500) throw err;
      ctx.status = err.status;
      await renderManage(ctx, p, err.message);
    }
  };

  async function renderManage(
    ctx: Context,
    p: Principal,
    error?: string,
    shown?: Record<string, unknown>,
  ) {
    const [factors, req] = await Promise.all([
      mfa.factors(p.account.id),
      mfa.requirement(p.account.id),
    ]);
    kit.render(ctx, p, 'mfa/mfa.njk', {
      factors,
      otp: factors.find((f) => f.type === 'otp'),
      keys: factors.filter((f) => f.type === 'webauthn'),
      requirement: req,
      shown: shown?.page === MANAGE ? shown : undefined,
      mayTurnOff: !req.enforced,
      recoveryLeft: await mfa.recoveryCodesLeft(p.account.id),
      error,
      flash: FLASH[String(ctx.query.done ?? '')],
      offerSignOut: ['removed', 'off', 'key', 'added'].includes(String(ctx.query.done ?? '')),
    });
  }

  router.get('/account/mfa', async (ctx) => {
    const p = await kit.signedIn(ctx);
    if (p) await renderManage(ctx, p, undefined, await kit.secrets.take(ctx, p.sessionUid!));
  });

  router.get('/account/mfa/authenticator', async (ctx) => {
    const p = await kit.signedIn(ctx);
    if (!p) return;
    await guarded(ctx, p, 'set up an authenticator app', async () => {
      kit.render(ctx, p, 'mfa/authenticator.njk', { setup: await mfa.startOtpSetup(p.account) });
    });
  });

  router.post(
    '/account/mfa/authenticator',
    accountForm(kit, {
      schema: z.object({
        code: field()
          .transform((v) => v.trim())
          .refine(
            (v) => /^\d{6}$/.test(v),
            'Enter the 6-digit code shown in your authenticator app.',
          ),
      }),
      sudo: 'set up an authenticator app',
      back,
      rerender: async (ctx, p, f) =>
        kit.render(ctx, p, 'mfa/authenticator.njk', {
          setup: await mfa.startOtpSetup(p.account),
          error: f.error,
        }),
      change: async (ctx, p, form) => {
        const { recoveryCodes } = await mfa.confirmOtpSetup(p.account, form.code, requestInfo(ctx));
        await deps.mfa.sessions.keep(p.sessionUid!);
        return {
          to: `${MANAGE}?done=added`,
          secret: {
            page: MANAGE,
            title: 'MFA setup successful',
            recoveryCodes: recoveryCodes ?? [],
          },
        };
      },
    }),
  );

  router.post(
    '/account/mfa/factors/:id/delete',
    accountForm(kit, {
      schema: noFields,
      sudo: 'remove a second factor',
      back,
      rerender: (ctx, p, f) => renderManage(ctx, p, f.error),
      change: async (ctx, p) => {
        await mfa.removeFactor(p.account, ctx.params.id, requestInfo(ctx));
        return `${MANAGE}?done=removed`;
      },
    }),
  );

  router.post(
    '/account/mfa/off',
    accountForm(kit, {
      schema: noFields,
      sudo: 'turn off 2-step verification',
      back,
      rerender: (ctx, p, f) => renderManage(ctx, p, f.error),
      change: async (ctx, p) => {
        await mfa.turnOff(p.account, requestInfo(ctx));
        return `${MANAGE}?done=off`;
      },
    }),
  );

  router.post(
    '/account/mfa/recovery-codes',
    accountForm(kit, {
      schema: noFields,
      sudo: 'create new recovery codes',
      back,
      rerender: (ctx, p, f) => renderManage(ctx, p, f.error),
      change: async (ctx, p) => {
        const recoveryCodes = await mfa.regenerateRecoveryCodes(p.account, requestInfo(ctx));
        return { to: MANAGE, secret: { page: MANAGE, title: 'New recovery codes', recoveryCodes } };
      },
    }),
  );

  router.post(
    '/account/sessions/others/delete',
    accountForm(kit, {
      schema: noFields,
      back,
      rerender: (ctx, p, f) => renderManage(ctx, p, f.error),
      change: async (ctx, p) => {
        const revoked = await deps.payloads.deleteSessions(p.account.id, p.sessionUid);
        await deps.audit.record({
          type: 'sessions.revoked_others',
          accountId: p.account.id,
          request: requestInfo(ctx),
          details: { count: revoked },
        });
        return `${MANAGE}?done=signedout`;
      },
    }),
  );

  /**
   * Signing in again always counts as the verification (with a second factor where the account has
   * one). For an account that signs in through its organization's identity provider it is the only
   * way: such accounts have no password of their own.
   */
  const verifyChoices = (p: Principal, next: string) => ({
    federated: p.amr.includes('fed'),
    reauthUrl: `/signin?reauth=1&next=${encodeURIComponent(next)}`,
  });

  router.get('/account/verify', async (ctx) => {
    const p = await kit.signedIn(ctx);
    if (!p) return;
    const next =
      typeof ctx.query.next === 'string' && /^\/(?![/\\])/.test(ctx.query.next)
        ? ctx.query.next
        : '/account';
    const factors = await mfa.factors(p.account.id);
    kit.render(ctx, p, 'mfa/verify.njk', {
      next,
      ...verifyChoices(p, next),
      hasMfa: factors.length > 0,
      hasOtp: factors.some((f) => f.type === 'otp'),
      hasKeys: factors.some((f) => f.type === 'webauthn'),
    });
  });

  const safeNext = (v: unknown) =>
    typeof v === 'string' && /^\/(?![/\\])/.test(v) ? v : '/account';
  router.post(
    '/account/verify',
    accountForm(kit, {
      schema: z.object({ method: field(), code: field(), password: field(), next: field() }),
      rerender: async (ctx, p, f) => {
        const factors = await mfa.factors(p.account.id);
        kit.render(ctx, p, 'mfa/verify.njk', {
          next: safeNext(f.form.next),
          ...verifyChoices(p, safeNext(f.form.next)),
          hasMfa: factors.length > 0,
          hasOtp: factors.some((x) => x.type === 'otp'),
          hasKeys: factors.some((x) => x.type === 'webauthn'),
          error: f.error,
        });
      },
      change: async (ctx, p, form) => {
        const factors = await mfa.factors(p.account.id);
        await verifySudo(ctx, deps, p, {
          method: form.method || (factors.length ? 'otp' : 'password'),
          code: form.code,
          password: form.password,
        });
        return safeNext(form.next);
      },
    }),
  );
}
