/**
 * Account › SSH Private Keys: "New SSH Private Key" opens the form (Name, Description, Remote
 * Resource SSH Private Key, "Create SSH Private Key"); then a dialog says it was created; the list
 * shows name, description and creation date; delete behind "Delete credentials"; who used them.
 */
import type Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import type { AccountPageKit } from '../../platform/pages/account-page-kit.ts';
import type { AccountNav } from '../../platform/pages/account-nav.ts';
import type { Principal } from '../../platform/auth/principal.ts';
import { requestInfo } from '../../platform/http/request-info.ts';
import type { SshPrivateKeyService } from './ssh-private-key-service.ts';
import type { SudoGuard } from '../../platform/auth/sudo-service.ts';
import { presentPrivateKey, presentUse } from './ssh-private-key-routes.ts';
import {
  accountForm,
  field,
  noFields,
  type FormFailure,
} from '../../platform/pages/account-form.ts';

const PATH = '/account/ssh-private-keys';
const DONE: Record<string, string> = { deleted: 'SSH Private Key deleted.' };
// After "Create SSH Private Key" the page shows the "created successfully" dialog once (one-time-secret.ts).

const createForm = z.object({
  name: field(),
  description: field(),
  privateKey: field(),
  passphrase: field(),
});

export function registerSshPrivateKeyPages(
  router: Router,
  deps: { kit: AccountPageKit; nav: AccountNav; keys: SshPrivateKeyService; sudo: SudoGuard },
): void {
  const { kit, nav, keys } = deps;
  nav.add({ href: PATH, label: 'SSH Private Keys', group: 'Account', order: 30 });

  async function show(
    ctx: Context,
    p: Principal,
    extra: Partial<FormFailure> & { flash?: string; created?: boolean; open?: boolean } = {},
  ) {
    const [list, uses] = await Promise.all([keys.list(p.account), keys.uses(p.account, 20)]);
    kit.render(ctx, p, 'ssh-private-keys/ssh-private-keys.njk', {
      keys: list.map(presentPrivateKey),
      uses: uses.map(presentUse),
      form: extra.form ?? {},
      error: extra.error,
      flash: extra.flash,
      created: extra.created,
      open: extra.open || Boolean(extra.error) || ctx.query.new !== undefined,
    });
  }

  router.get(PATH, async (ctx) => {
    const p = await kit.signedIn(ctx);
    if (!p) return;
    const shown = await kit.secrets.take(ctx, p.sessionUid!); // "created" is said once, not again on refresh
    await show(ctx, p, { flash: DONE[String(ctx.query.done)], created: shown?.page === PATH });
  });

  router.post(
    PATH,
    accountForm(kit, {
      schema: createForm,
      sudo: 'store an SSH private key',
      secretFields: ['privateKey', 'passphrase'],
      rerender: show,
      // Neither the key nor the passphrase is ever sent back to the browser.
      change: async (ctx, p, form) => {
        await keys.create(
          p.account,
          {
            name: form.name,
            description: form.description,
            privateKey: form.privateKey,
            passphrase: form.passphrase || undefined,
          },
          p.account,
          requestInfo(ctx),
        );
        return { to: PATH, secret: { page: PATH, created: form.name } };
      },
    }),
  );

  router.post(
    `${PATH}/:name/delete`,
    accountForm(kit, {
      schema: noFields,
      sudo: 'delete an SSH private key',
      rerender: (ctx, p, f) => show(ctx, p, { error: f.error, open: false }),
      change: async (ctx, p) => {
        await keys.remove(p.account, ctx.params.name, requestInfo(ctx));
        return `${PATH}?done=deleted`;
      },
    }),
  );
}
