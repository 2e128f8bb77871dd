/** Account › Authentication › SSH Keys: list, add (paste), copy, delete with a confirm dialog. */
import type Router from '@koa/router';
import type { Context } from 'koa';
import type { AccountPageKit } from '../../platform/pages/account-page-kit.ts';
import type { AccountNav } from '../../platform/pages/account-nav.ts';
import type { Principal } from '../../platform/auth/principal.ts';
import { requestInfo } from '../../platform/http/request-info.ts';
import { AppError } from '../../platform/errors/app-error.ts';
import type { SshKeyService } from './ssh-key-service.ts';
import type { SudoGuard } from '../../platform/auth/sudo-service.ts';
import { parseExpiry, presentPublicKey } from './ssh-key-routes.ts';
import { changeThenRedirect, sudoOrVerify } from '../../platform/pages/sudo-redirect.ts';

const PATH = '/account/ssh-keys';
const DONE: Record<string, string> = { added: 'SSH key added.', deleted: 'SSH key deleted.' };

type Form = Record<string, string | undefined>;

export function registerSshKeyPages(router: Router, deps: { kit: AccountPageKit; nav: AccountNav; keys: SshKeyService; sudo: SudoGuard; now: () => number }): void {
  const { kit, nav, keys, sudo, now } = deps;
  nav.add({ href: PATH, label: 'SSH Keys', group: 'Authentication' });

  async function show(ctx: Context, p: Principal, extra: { error?: string; form?: Form; flash?: string } = {}) {
    const list = (await keys.list(p.account)).map((k) => presentPublicKey(k, keys));
    kit.render(ctx, p, 'account/ssh-keys.njk', { keys: list, form: extra.form ?? {}, error: extra.error, flash: extra.flash, today: new Date(now()).toISOString().slice(0, 10) });
  }

  router.get(PATH, async (ctx) => {
    const p = await kit.signedIn(ctx);
    if (!p) return;
    await show(ctx, p, { flash: DONE[String(ctx.query.done)] });
  });

  router.post(PATH, async (ctx) => {
    const p = await kit.signedIn(ctx);
    if (!p) return;
    const body = kit.form(ctx, p) as Form;
    if (!(await sudoOrVerify(ctx, sudo, p, 'add an SSH key', PATH))) return;
    const form = { title: body.title ?? '', expiresAt: body.expiresAt ?? '' };
    await changeThenRedirect(ctx, async () => {
      if (form.expiresAt && !/^\d{4}-\d{2}-\d{2}$/.test(form.expiresAt)) throw new AppError('validation_failed', 'The expiry date must be a date (YYYY-MM-DD).');
      await keys.add(p.account, { title: form.title, key: body.key ?? '', expiresAt: parseExpiry(form.expiresAt || undefined) }, requestInfo(ctx));
    }, (error) => show(ctx, p, { error, form }), `${PATH}?done=added`); // the pasted key is not echoed back: it may have been a private key
  });

  router.post(`${PATH}/:id/delete`, async (ctx) => {
    const p = await kit.signedIn(ctx);
    if (!p) return;
    kit.form(ctx, p);
    if (!(await sudoOrVerify(ctx, sudo, p, 'delete an SSH key', PATH))) return;
    await changeThenRedirect(ctx, () => keys.remove(p.account, ctx.params.id, requestInfo(ctx)), (error) => show(ctx, p, { error }), `${PATH}?done=deleted`);
  });
}
