/** Account › Authentication › SSH Keys: list, Add Key (Key Name, Key), copy, delete with a confirm dialog. */
import type Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import type { AccountPageKit } from '../../platform/pages/account-page-kit.ts';
import type { AccountNav } from '../../platform/pages/account-nav.ts';
import type { Principal } from '../../platform/auth/principal.ts';
import { requestInfo } from '../../platform/http/request-info.ts';
import type { SshKeyService } from './ssh-key-service.ts';
import type { SudoGuard } from '../../platform/auth/sudo-service.ts';
import { parseExpiry, presentPublicKey } from './ssh-key-routes.ts';
import {
  accountForm,
  field,
  noFields,
  type FormFailure,
} from '../../platform/pages/account-form.ts';

const PATH = '/account/ssh-keys';
const DONE: Record<string, string> = { added: 'SSH key added.', deleted: 'SSH key deleted.' };

const addForm = z.object({
  title: field(),
  key: field(),
  expiresAt: field().refine(
    (v) => v === '' || /^\d{4}-\d{2}-\d{2}$/.test(v),
    'The expiry date must be a date (YYYY-MM-DD).',
  ),
});

export function registerSshKeyPages(
  router: Router,
  deps: {
    kit: AccountPageKit;
    nav: AccountNav;
    keys: SshKeyService;
    sudo: SudoGuard;
    now: () => number;
  },
): void {
  const { kit, nav, keys, now } = deps;
  nav.add({
    href: PATH,
    label: 'SSH Keys',
    group: 'Authentication',
    order: 20,
    description: 'Public keys that let you log in to the clusters with ssh.',
  });

  async function show(
    ctx: Context,
    p: Principal,
    extra: Partial<FormFailure> & { flash?: string } = {},
  ) {
    const list = (await keys.list(p.account)).map((k) => presentPublicKey(k, keys));
    // A pasted private key is never sent back; a public key that was refused is kept for correcting.
    const form = {
      ...extra.form,
      key: /PRIVATE KEY/.test(extra.form?.key ?? '') ? '' : (extra.form?.key ?? ''),
    };
    const fieldError =
      extra.field === 'key' || extra.field === 'expiresAt' ? extra.field : undefined;
    kit.render(ctx, p, 'ssh-keys/ssh-keys.njk', {
      keys: list,
      form,
      error: extra.error,
      errorAtField: fieldError,
      flash: extra.flash,
      today: new Date(now()).toISOString().slice(0, 10),
    });
  }

  router.get(PATH, async (ctx) => {
    const p = await kit.signedIn(ctx);
    if (!p) return;
    await show(ctx, p, { flash: DONE[String(ctx.query.done)] });
  });

  router.post(
    PATH,
    accountForm(kit, {
      schema: addForm,
      sudo: 'add an SSH key',
      rerender: show,
      fieldOf: (err) =>
        err.fieldErrors[0]?.pointer?.replace(/^#\//, '') ??
        (/expiry/i.test(err.message) ? 'expiresAt' : undefined),
      change: async (ctx, p, form) => {
        await keys.add(
          p.account,
          { title: form.title, key: form.key, expiresAt: parseExpiry(form.expiresAt || undefined) },
          requestInfo(ctx),
        );
        return `${PATH}?done=added`;
      },
    }),
  );

  router.post(
    `${PATH}/:id/delete`,
    accountForm(kit, {
      schema: noFields,
      sudo: 'delete an SSH key',
      rerender: (ctx, p, f) => show(ctx, p, { error: f.error }),
      change: async (ctx, p) => {
        await keys.remove(p.account, ctx.params.id, requestInfo(ctx));
        return `${PATH}?done=deleted`;
      },
    }),
  );
}
