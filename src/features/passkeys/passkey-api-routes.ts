/**
 * REST for passkeys and passwordless accounts: list, register (options, then the browser's
 * response), remove; remove the password, set one again. Every change needs a browser session
 * in sudo mode (sudo-service.ts): API keys and tokens cannot plant a passkey or drop a password.
 */
import type { Context } from 'koa';
import { z } from 'zod';
import type { ApiRegistry } from '../../platform/http/api-registry.ts';
import { requirePrincipal } from '../../platform/auth/principal.ts';
import { requestInfo } from '../../platform/http/request-info.ts';
import type { PasskeyFeatureDeps } from './passkey-parts.ts';
import { enrolKey } from '../mfa/key-enrolment.ts';

const tags = ['Authentication'];
const passkey = z.object({
  id: z.string(),
  name: z.string(),
  authenticator: z.string(),
  synced: z.boolean(),
  createdAt: z.date(),
  lastUsedAt: z.date().optional(),
});

export function registerPasskeyApiRoutes(api: ApiRegistry, deps: PasskeyFeatureDeps): void {
  const { passkeys, passwordless, mfa, sudo, sessions } = deps;
  const sudoBrowser = async (ctx: Context, action: string) => {
    const p = await requirePrincipal(ctx, ['session']);
    await sudo.require(p, action);
    return p;
  };

  api.add({
    method: 'get',
    path: '/api/sso/passkeys',
    summary: 'Your passkeys, and whether your account has a password',
    tags,
    response: {
      status: 200,
      schema: z.object({
        passkeys: z.array(passkey),
        passwordless: z.boolean(),
        passwordRequired: z.boolean(),
      }),
    },
    handler: async (ctx) => {
      const { account } = await requirePrincipal(ctx, ['session']);
      return {
        passkeys: (await passkeys.list(account.id)).map((f) => passkeys.view(f)),
        passwordless: await passwordless.isPasswordless(account),
        passwordRequired: await passwordless.passwordRequired(account.id),
      };
    },
  });

  api.add({
    method: 'post',
    path: '/api/sso/passkeys/options',
    summary: 'Passkey registration options (discoverable, user verification required)',
    tags,
    response: { status: 200, schema: z.record(z.string(), z.unknown()) },
    handler: async (ctx) =>
      passkeys.registrationOptions((await sudoBrowser(ctx, 'add a passkey')).account),
  });

  api.add({
    method: 'post',
    path: '/api/sso/passkeys',
    summary: 'Register a passkey from the browser response',
    tags,
    body: z.object({
      name: z.string().trim().min(1, 'give the passkey a name').max(64),
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
      const p = await sudoBrowser(ctx, 'add a passkey');
      const request = requestInfo(ctx);
      const added = await enrolKey({ mfa, sessions }, p, request, () =>
        passkeys.register(p.account, body.name, body.response, request),
      );
      ctx.set('Cache-Control', 'no-store');
      return { message: 'Passkey registered', ...added };
    },
  });

  api.add({
    method: 'delete',
    path: '/api/sso/passkeys/:id',
    summary: 'Remove a passkey',
    tags,
    params: z.object({ id: z.string().min(1).max(100) }),
    response: { status: 204 },
    handler: async (ctx, { params }) => {
      const p = await sudoBrowser(ctx, 'remove a passkey');
      await passkeys.remove(p.account, params.id, requestInfo(ctx));
    },
  });

  api.add({
    method: 'delete',
    path: '/api/account/password',
    summary: 'Remove your password (passwordless: sign in with passkeys only)',
    tags,
    response: { status: 204 },
    handler: async (ctx) => {
      const p = await sudoBrowser(ctx, 'remove your password');
      await passwordless.removePassword(p.account, requestInfo(ctx));
    },
  });

  api.add({
    method: 'put',
    path: '/api/account/password',
    summary: 'Set a password again on a passwordless account',
    tags,
    body: z.object({ password: z.string().min(1).max(4096) }),
    response: { status: 204 },
    handler: async (ctx, { body }) => {
      const p = await sudoBrowser(ctx, 'set a password');
      await passwordless.addPassword(p.account, body.password, requestInfo(ctx));
    },
  });
}
