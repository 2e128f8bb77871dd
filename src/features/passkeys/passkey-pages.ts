/**
 * Account > Authentication > Passkeys: register a passkey (named, through webauthn.js and the
 * REST API), the list with authenticator, added and last-used dates, removal behind a confirm
 * dialog; and the password: remove it (passwordless) or set one again. Changes need sudo mode.
 */
import type { Context } from 'koa';
import type { FeatureContext } from '../../platform/feature.ts';
import type { Principal } from '../../platform/auth/principal.ts';
import { requestInfo } from '../../platform/http/request-info.ts';
import { changeThenRedirect, sudoOrVerify } from '../../platform/pages/sudo-redirect.ts';
import { AppError } from '../../platform/errors/app-error.ts';
import type { PasskeyFeatureDeps } from './passkey-parts.ts';

const FLASH: Record<string, string> = {
  added: 'Passkey added.',
  removed: 'The passkey was removed.',
  passwordless: 'Your password was removed. Sign in with a passkey from now on.',
  password: 'Your password is set.',
};

export function registerPasskeyPages({ router, nav, kit }: FeatureContext, deps: PasskeyFeatureDeps): void {
  const { passkeys, passwordless, sudo } = deps;
  nav.add({ href: '/account/passkeys', label: 'Passkeys', group: 'Authentication' });

  async function render(ctx: Context, p: Principal, error?: string) {
    const list = await passkeys.list(p.account.id);
    kit.render(ctx, p, 'passkeys/passkeys.njk', {
      passkeys: list.map((f) => passkeys.view(f)), passwordless: await passwordless.isPasswordless(p.account),
      passwordRequired: await passwordless.passwordRequired(p.account.id), error, flash: FLASH[String(ctx.query.done ?? '')],
    });
  }

  /** A change behind sudo mode, then back to the page (or the page again with the error). */
  const change = async (ctx: Context, action: string, run: (p: Principal) => Promise<void>, done: string) => {
    const p = await kit.signedIn(ctx);
    if (!p) return;
    kit.form(ctx, p);
    if (!(await sudoOrVerify(ctx, sudo, p, action, '/account/passkeys'))) return;
    await changeThenRedirect(ctx, () => run(p), (error) => render(ctx, p, error), `/account/passkeys?done=${done}`);
  };

  router.get('/account/passkeys', async (ctx) => {
    const p = await kit.signedIn(ctx);
    if (p) await render(ctx, p);
  });

  router.post('/account/passkeys/password/delete', (ctx) =>
    change(ctx, 'remove your password', (p) => passwordless.removePassword(p.account, requestInfo(ctx)), 'passwordless'));

  router.post('/account/passkeys/password', (ctx) => change(ctx, 'set a password', async (p) => {
    const body = (ctx.request.body ?? {}) as Record<string, unknown>;
    const password = typeof body.password === 'string' ? body.password.slice(0, 4096) : '';
    if (!password) throw new AppError('validation_failed', 'Enter the new password.');
    if (password !== body.confirm) throw new AppError('validation_failed', 'The two passwords do not match.');
    await passwordless.addPassword(p.account, password, requestInfo(ctx));
  }, 'password'));

  // After the password routes: "password" is not a passkey id.
  router.post('/account/passkeys/:id/delete', (ctx) =>
    change(ctx, 'remove a passkey', (p) => passkeys.remove(p.account, ctx.params.id, requestInfo(ctx)), 'removed'));
}
