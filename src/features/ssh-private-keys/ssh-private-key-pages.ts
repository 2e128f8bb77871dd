/** Account › SSH Private Keys: store a key for the platform, list, delete, and see who used them. */
import type Router from '@koa/router';
import type { Context } from 'koa';
import type { AccountPageKit } from '../../platform/pages/account-page-kit.ts';
import type { AccountNav } from '../../platform/pages/account-nav.ts';
import type { Principal } from '../../platform/auth/principal.ts';
import { requestInfo } from '../../platform/http/request-info.ts';
import type { SshPrivateKeyService } from './ssh-private-key-service.ts';
import type { SudoGuard } from '../../platform/auth/sudo-service.ts';
import { presentPrivateKey, presentUse } from './ssh-private-key-routes.ts';
import { changeThenRedirect, sudoOrVerify } from '../../platform/pages/sudo-redirect.ts';

const PATH = '/account/ssh-private-keys';
const DONE: Record<string, string> = { created: 'SSH Private Key created successfully', deleted: 'SSH Private Key deleted.' };

type Form = Record<string, string | undefined>;

export function registerSshPrivateKeyPages(router: Router, deps: { kit: AccountPageKit; nav: AccountNav; keys: SshPrivateKeyService; sudo: SudoGuard }): void {
  const { kit, nav, keys, sudo } = deps;
  nav.add({ href: PATH, label: 'SSH Private Keys', group: 'Account' });

  async function show(ctx: Context, p: Principal, extra: { error?: string; form?: Form; flash?: string } = {}) {
    const [list, uses] = await Promise.all([keys.list(p.account), keys.uses(p.account, 20)]);
    kit.render(ctx, p, 'account/ssh-private-keys.njk', { keys: list.map(presentPrivateKey), uses: uses.map(presentUse), form: extra.form ?? {}, error: extra.error, flash: extra.flash });
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
    if (!(await sudoOrVerify(ctx, sudo, p, 'store an SSH private key', PATH))) return;
    const form = { name: body.name ?? '', description: body.description ?? '' };
    // Neither the key nor the passphrase is ever sent back to the browser.
    await changeThenRedirect(ctx, () => keys.create(p.account, { ...form, privateKey: body.privateKey ?? '', passphrase: body.passphrase || undefined }, p.account, requestInfo(ctx)),
      (error) => show(ctx, p, { error, form }), `${PATH}?done=created`);
  });

  router.post(`${PATH}/:name/delete`, async (ctx) => {
    const p = await kit.signedIn(ctx);
    if (!p) return;
    kit.form(ctx, p);
    if (!(await sudoOrVerify(ctx, sudo, p, 'delete an SSH private key', PATH))) return;
    await changeThenRedirect(ctx, () => keys.remove(p.account, ctx.params.name, requestInfo(ctx)), (error) => show(ctx, p, { error }), `${PATH}?done=deleted`);
  });
}
