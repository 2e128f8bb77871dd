/** REST for 2-step verification (contract §2.2), sudo re-verification, and admin MFA reset. */
import type { Context } from 'koa';
import { z } from 'zod';
import { AppError } from '../../platform/errors/app-error.ts';
import type { ApiRegistry } from '../../platform/http/api-registry.ts';
import { requirePrincipal, type Principal } from '../../platform/auth/principal.ts';
import type { RequestInfo } from '../../platform/directory/audit-service.ts';
import { requestInfo } from '../../platform/http/request-info.ts';
import type { MfaFeatureDeps } from './mfa-parts.ts';
import { enrolKey } from './key-enrolment.ts';
import { signInClient } from '../sign-in/device-cookie.ts';

const setting = z.object({
  id: z.string(),
  type: z.enum(['otp', 'webauthn']),
  enabled: z.boolean(),
  name: z.string(),
  createdAt: z.date(),
  updatedAt: z.date(),
  lastUsedAt: z.date().optional(),
});
const settings = z.object({
  enabled: z.boolean(),
  mfaSettings: z.array(setting),
  enforceMfa: z.boolean(),
  enforceWebAuthnMfa: z.boolean(),
  webAuthnMfaLevel: z.string(),
  webAuthnKeyRequiresReplacement: z.boolean(),
  recoveryCodesLeft: z.number(),
});
const tags = ['Authentication'];
const json = z.record(z.string(), z.unknown());

export function registerMfaApiRoutes(api: ApiRegistry, deps: MfaFeatureDeps): void {
  const { mfa, webauthn, sudo } = deps.mfa;
  const browser = (ctx: Context) => requirePrincipal(ctx, ['session']);
  const sudoBrowser = async (ctx: Context, action: string) => {
    const p = await browser(ctx);
    await sudo.require(p, action);
    return p;
  };

  api.add({
    method: 'get',
    path: '/api/sso/mfa',
    summary: 'Your 2-step verification settings',
    tags,
    response: { status: 200, schema: settings },
    handler: async (ctx) => {
      const { account } = await browser(ctx);
      const [factors, req] = await Promise.all([
        mfa.factors(account.id),
        mfa.requirement(account.id),
      ]);
      const keys = factors.filter((f) => f.type === 'webauthn');
      return {
        enabled: factors.length > 0,
        mfaSettings: factors,
        enforceMfa: req.enforced,
        enforceWebAuthnMfa: !!req.webauthnLevel,
        webAuthnMfaLevel: req.webauthnLevel ?? '',
        webAuthnKeyRequiresReplacement:
          req.webauthnLevel === 'fips' && keys.length > 0 && !keys.some((k) => webauthn.isFips(k)),
        recoveryCodesLeft: await mfa.recoveryCodesLeft(account.id),
      };
    },
  });

  api.add({
    method: 'delete',
    path: '/api/sso/mfa',
    summary:
      'Remove one factor (id), all of a type (mfaMethod), or turn 2-step verification off (removeAll)',
    tags,
    body: z
      .object({
        mfaMethod: z.enum(['otp', 'webauthn']).optional(),
        id: z.string().min(1).max(100).optional(),
        removeAll: z.boolean().optional(),
      })
      .refine(
        (b) =>
          [b.mfaMethod, b.id, b.removeAll].filter((x) => x !== undefined && x !== false).length ===
          1,
        'give exactly one of id, mfaMethod or removeAll: true',
      ),
    response: { status: 204 },
    handler: async (ctx, { body }) => {
      const { account } = await sudoBrowser(ctx, 'change 2-step verification');
      if (body.id) await mfa.removeFactor(account, body.id, requestInfo(ctx));
      else
        await mfa.turnOff(
          account,
          requestInfo(ctx),
          body.removeAll ? {} : { type: body.mfaMethod },
        );
    },
  });

  api.add({
    method: 'post',
    path: '/api/sso/mfa/otp',
    summary: 'Start authenticator-app setup',
    tags,
    response: {
      status: 200,
      schema: z.object({ qrImage: z.string(), secret: z.string(), uri: z.string() }),
    },
    handler: async (ctx) => {
      const { account } = await sudoBrowser(ctx, 'set up an authenticator app');
      ctx.set('Cache-Control', 'no-store');
      const setup = await mfa.startOtpSetup(account);
      return { ...setup, qrImage: setup.qrImage.replace(/^data:image\/png;base64,/, '') };
    },
  });

  api.add({
    method: 'post',
    path: '/api/sso/mfa/otp/verify',
    summary: 'Finish authenticator-app setup with a code',
    tags,
    body: z.object({ code: z.string().regex(/^\d{6}$/, 'must be exactly 6 digits') }),
    response: {
      status: 200,
      schema: z.object({ message: z.string(), recoveryCodes: z.array(z.string()).optional() }),
    },
    handler: async (ctx, { body }) => {
      const p = await sudoBrowser(ctx, 'set up an authenticator app');
      ctx.set('Cache-Control', 'no-store');
      const result = await mfa.confirmOtpSetup(p.account, body.code, requestInfo(ctx));
      await deps.mfa.sessions.keep(p.sessionUid!);
      return { message: 'MFA setup successful', ...result };
    },
  });

  api.add({
    method: 'post',
    path: '/api/sso/mfa/webauthn',
    summary: 'Security key registration options',
    tags,
    response: { status: 200, schema: json },
    handler: async (ctx) =>
      webauthn.registrationOptions((await sudoBrowser(ctx, 'add a security key')).account),
  });

  api.add({
    method: 'post',
    path: '/api/sso/mfa/webauthn/verify',
    summary: 'Register a security key from the browser response',
    tags,
    body: z.object({
      name: z.string().trim().min(1, 'give the key a name').max(64),
      response: z.record(z.string(), z.unknown()),
    }),
    response: {
      status: 200,
      schema: z.object({
        message: z.string(),
        id: z.string(),
        recoveryCodes: z.array(z.string()).optional(),
      }),
    },
    handler: async (ctx, { body }) => {
      const p = await sudoBrowser(ctx, 'add a security key');
      const request = requestInfo(ctx);
      const added = await enrolKey(deps.mfa, p, request, () =>
        webauthn.register(p.account, body.name, body.response, request),
      );
      ctx.set('Cache-Control', 'no-store');
      return { message: 'Security key registered', ...added };
    },
  });

  api.add({
    method: 'post',
    path: '/api/sso/mfa/webauthn/authenticate',
    summary: 'Security key options to confirm it is you (sudo mode)',
    tags,
    response: { status: 200, schema: json },
    handler: async (ctx) => {
      const p = await browser(ctx);
      return webauthn.authenticationOptions(p.account.id, `sudo:${p.sessionUid}`);
    },
  });

  api.add({
    method: 'post',
    path: '/api/sso/mfa/recovery-codes',
    summary: 'Generate new recovery codes (the old ones stop working)',
    tags,
    response: { status: 200, schema: z.object({ recoveryCodes: z.array(z.string()) }) },
    handler: async (ctx) => {
      const { account } = await sudoBrowser(ctx, 'create new recovery codes');
      ctx.set('Cache-Control', 'no-store');
      return { recoveryCodes: await mfa.regenerateRecoveryCodes(account, requestInfo(ctx)) };
    },
  });

  api.add({
    method: 'post',
    path: '/api/account/verify',
    summary: "Confirm it's you (sudo mode): a second factor, or the password without MFA",
    tags,
    body: z.object({
      method: z.enum(['otp', 'recovery', 'webauthn', 'password']),
      code: z.string().max(64).optional(),
      password: z.string().max(4096).optional(),
      response: z.record(z.string(), z.unknown()).optional(),
    }),
    response: { status: 204 },
    handler: async (ctx, { body }) => verifySudo(ctx, deps, await browser(ctx), body),
  });

  api.add({
    method: 'post',
    path: '/api/account/sessions/revoke-others',
    summary: 'Sign out every other session of yours',
    tags,
    response: { status: 200, schema: z.object({ revoked: z.number() }) },
    handler: async (ctx) => {
      const p = await browser(ctx);
      const revoked = await deps.payloads.deleteSessions(p.account.id, p.sessionUid);
      await deps.audit.record({
        type: 'sessions.revoked_others',
        accountId: p.account.id,
        request: requestInfo(ctx),
        details: { count: revoked },
      });
      return { revoked };
    },
  });

  api.add({
    method: 'delete',
    path: '/api/organizations/:org/users/:username/mfa',
    summary: "Reset a member's 2-step verification (org admins)",
    tags,
    params: z.object({ org: z.string().min(1).max(100), username: z.string().min(1).max(100) }),
    response: { status: 204 },
    handler: async (ctx, { params }) => {
      await resetMemberMfa(
        deps,
        await requirePrincipal(ctx),
        params.org,
        params.username,
        requestInfo(ctx),
      );
    },
  });
}

/**
 * An org admin resets a member's 2-step verification: only members of an organization they
 * administer, never a platform admin (unless they are one), and only in sudo mode.
 */
export async function resetMemberMfa(
  deps: Pick<MfaFeatureDeps, 'organizations' | 'accounts' | 'mfa'>,
  principal: Principal,
  orgName: string,
  username: string,
  request: RequestInfo,
): Promise<void> {
  const admin = principal.account;
  const org = await deps.organizations.requireAdmin(orgName, admin);
  const target = await deps.accounts.findByLogin(username);
  const member =
    target &&
    (await deps.organizations.membershipsOf(target.id)).some((m) => m.organization.id === org.id);
  if (!target || !member)
    throw new AppError('not_found', `No member "${username}" in "${org.name}".`);
  if (target.platformAdmin && !admin.platformAdmin) {
    throw new AppError(
      'forbidden',
      `"${target.username}" is a platform administrator: an organization admin cannot reset their 2-step verification.`,
    );
  }
  await deps.mfa.sudo.require(principal, `reset ${target.username}'s 2-step verification`);
  await deps.mfa.mfa.adminReset(target, admin.id, request);
}

/** Checks what the user gave for sudo mode and records the verification on the session. */
export async function verifySudo(
  ctx: Context,
  deps: MfaFeatureDeps,
  p: Awaited<ReturnType<typeof requirePrincipal>>,
  body: { method: string; code?: string; password?: string; response?: unknown },
): Promise<void> {
  const { mfa, webauthn, sudo } = deps.mfa;
  const hasMfa = await mfa.hasMfa(p.account.id);
  if (body.method === 'password') {
    if (hasMfa)
      throw new AppError(
        'invalid_request',
        'You use 2-step verification: confirm with your second factor instead of the password.',
      );
    await deps.accounts.authenticate(p.account.username, body.password ?? '', signInClient(ctx));
    return sudo.verified(p.sessionUid!, 'password');
  }
  if (!hasMfa)
    throw new AppError('invalid_request', 'You have no second factor: confirm with your password.');
  if (body.method === 'webauthn')
    await webauthn.authenticate(
      p.account.id,
      `sudo:${p.sessionUid}`,
      body.response,
      requestInfo(ctx),
    );
  else
    await mfa.verify(
      p.account.id,
      body.method as 'otp' | 'recovery',
      body.code ?? '',
      requestInfo(ctx),
    );
  await sudo.verified(p.sessionUid!, 'mfa');
}
