/**
 * Account > Authentication > Passkeys: register a passkey (named, through webauthn.js and the
 * REST API), the list with authenticator, added and last-used dates, removal behind a confirm
 * dialog; and the password: remove it (passwordless) or set one again. Changes need sudo mode.
 */
import type { Context } from 'koa';
import { z } from 'zod';
import type { FeatureContext } from '../../platform/feature.ts';
import type { Principal } from '../../platform/auth/principal.ts';
import { requestInfo } from '../../platform/http/request-info.ts';
import { accountForm, type FormFailure } from '../../platform/pages/account-form.ts';
import type { PasskeyFeatureDeps } from './passkey-parts.ts';

const FLASH: Record<string, string> = {
  added: 'Passkey added.',
  removed: 'The passkey was removed.',
  passwordless: 'Your password was removed. Sign in with a passkey from now on.',
  password: 'Your password is set.',
};

export function registerPasskeyPages(
  { router, kit }: FeatureContext,
  deps: PasskeyFeatureDeps,
): void {
  const { passkeys, passwordless } = deps;
  // Passkeys are part of 2-Step Verification (the documented Authentication tabs stay three): its tab is the current one here.
  const TAB = '/account/mfa';

  async function render(ctx: Context, p: Principal, failure?: FormFailure) {
    const list = await passkeys.list(p.account.id);
    kit.render(ctx, p, 'passkeys/passkeys.njk', {
      active: TAB,
      passkeys: list.map((f) => passkeys.view(f)),
      passwordless: await passwordless.isPasswordless(p.account),
      passwordRequired: await passwordless.passwordRequired(p.account.id),
      error: failure?.error,
      flash: FLASH[String(ctx.query.done ?? '')],
    });
  }

  /** A change behind sudo mode, then back to the page (or the page again with the error). */
  const change = <T>(
    sudo: string,
    schema: z.ZodType<T>,
    run: (ctx: Context, p: Principal, form: T) => Promise<void>,
    done: string,
  ) =>
    accountForm(kit, {
      sudo,
      schema,
      back: () => '/account/passkeys',
      rerender: render,
      secretFields: ['password', 'confirm'],
      change: async (ctx, p, form) => {
        await run(ctx, p, form);
        return `/account/passkeys?done=${done}`;
      },
    });
  const nothing = z.object({});

  router.get('/account/passkeys', async (ctx) => {
    const p = await kit.signedIn(ctx);
    if (p) await render(ctx, p);
  });

  router.post(
    '/account/passkeys/password/delete',
    change(
      'remove your password',
      nothing,
      (ctx, p) => passwordless.removePassword(p.account, requestInfo(ctx)),
      'passwordless',
    ),
  );

  const newPassword = z
    .object({
      password: z
        .string({ error: 'Enter the new password.' })
        .min(1, 'Enter the new password.')
        .max(4096, 'The password is too long.'),
      confirm: z.string().optional(),
    })
    .refine((f) => f.password === f.confirm, {
      message: 'The two passwords do not match.',
      path: ['confirm'],
    });
  router.post(
    '/account/passkeys/password',
    change(
      'set a password',
      newPassword,
      (ctx, p, form) => passwordless.addPassword(p.account, form.password, requestInfo(ctx)),
      'password',
    ),
  );

  // After the password routes: "password" is not a passkey id.
  router.post(
    '/account/passkeys/:id/delete',
    change(
      'remove a passkey',
      nothing,
      (ctx, p) => passkeys.remove(p.account, ctx.params.id, requestInfo(ctx)),
      'removed',
    ),
  );
}
