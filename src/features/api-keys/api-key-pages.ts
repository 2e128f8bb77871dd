/**
 * Account > Authentication > API Keys: "Add Key" opens the new-key form (Key Name, Expiration when
 * the organization lets users choose), "Generate Token" the short-term CLI token form (1–24 h); the
 * list; delete behind the "Delete API Key" dialog. Forms post, then redirect (post/redirect/get):
 * the new secret rides to the page once (one-time-secret.ts) and is gone on refresh.
 */
import type Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import type { PersonalCredentialService } from './api-key-service.ts';
import type { LifetimeRules } from './api-key-policies.ts';
import type { AccountNav } from '../../platform/pages/account-nav.ts';
import type { Principal } from '../../platform/auth/principal.ts';
import { requestInfo } from '../../platform/http/request-info.ts';
import type { AccountPageKit } from '../../platform/pages/account-page-kit.ts';
import { toApiKeyResponse } from './api-key-routes.ts';
import {
  accountForm,
  field,
  noFields,
  type FormFailure,
} from '../../platform/pages/account-form.ts';

const PAGE = '/account/api-keys';
/** The documentation's Expiration list: No expiration, 7, 30, 60, 90 days (trimmed by the maximum). */
const KEY_DAYS = [7, 30, 60, 90];
const FLASH: Record<string, string> = { deleted: 'Deleted. It stopped working immediately.' };

/** A UTC timestamp for the list: `{ date: '2026-01-31', time: '14:05 UTC' }`, or `{ text }` (e.g. Never). */
const when = (d: Date | undefined, none: string) =>
  d
    ? {
        iso: d.toISOString(),
        date: d.toISOString().slice(0, 10),
        time: `${d.toISOString().slice(11, 16)} UTC`,
      }
    : { text: none };

/** The Expiration dropdown: No expiration (only when Unlimited) and 7/30/60/90 days within the maximum. */
export function keyChoices(rules: LifetimeRules): { value: string; label: string }[] {
  const max = rules.maxKeyDays;
  const out = KEY_DAYS.filter((d) => max === undefined || d <= max).map((d) => ({
    value: String(d),
    label: `${d} days`,
  }));
  if (max === undefined) out.unshift({ value: 'none', label: 'No expiration' });
  else if (!out.length)
    out.push({ value: String(max), label: `${max} day${max === 1 ? '' : 's'} (maximum)` });
  return out;
}

const keyForm = z.object({ title: field(), expiration: field() });
const tokenForm = z.object({ ttl: field() });

export function registerApiKeyPages(
  router: Router,
  deps: {
    kit: AccountPageKit;
    nav: AccountNav;
    credentials: PersonalCredentialService;
    now: () => number;
  },
): void {
  const { kit, nav, credentials, now } = deps;
  nav.add({
    href: PAGE,
    label: 'API Keys',
    group: 'Authentication',
    order: 10,
    description: 'Keys for scripts and the SDKs, and short-term tokens for the CLI.',
  });

  async function render(
    ctx: Context,
    p: Principal,
    extra: Record<string, unknown> = {},
  ): Promise<void> {
    const rules = await credentials.rulesFor(p.account.id);
    const rows = (await credentials.list(p.account.id)).map((c) => {
      const r = toApiKeyResponse(c, now());
      return {
        ...r,
        type: c.kind === 'apikey' ? 'API key' : 'CLI token',
        created: when(r.created, ''),
        expiration: when(r.expiration, 'Never'),
        lastUsedAt: when(r.lastUsedAt, 'Never'),
      };
    });
    const choices = keyChoices(rules);
    kit.render(ctx, p, 'api-keys/api-keys.njk', {
      rows,
      rules,
      keyChoices: choices,
      hours: Array.from({ length: 24 }, (_, i) => i + 1),
      defaultKeyChoice: choices.some((c) => c.value === '30')
        ? '30'
        : choices[choices.length - 1].value,
      open: ctx.query.new === 'key' || ctx.query.new === 'token' ? ctx.query.new : undefined,
      ...extra,
    });
  }

  const failed = (open: string) => (ctx: Context, p: Principal, f: FormFailure) =>
    render(ctx, p, { error: f.error, title: f.form.title, expiration: f.form.expiration, open });

  router.get(PAGE, async (ctx) => {
    const p = await kit.signedIn(ctx);
    if (!p) return;
    const created = await kit.secrets.take(ctx, p.sessionUid!);
    const flash = typeof ctx.query.done === 'string' ? FLASH[ctx.query.done] : undefined;
    await render(ctx, p, { flash, created: created?.page === PAGE ? created : undefined });
  });

  router.post(
    PAGE,
    accountForm(kit, {
      schema: keyForm,
      rerender: failed('key'),
      change: async (ctx, p, form) => {
        const rules = await credentials.rulesFor(p.account.id);
        const choice = rules.choice ? form.expiration : '';
        const lifetime = choice === '' ? {} : { duration: choice === 'none' ? '' : choice };
        const title = form.title.trim() ? form.title : undefined;
        const { credential, plaintext } = await credentials.createKey(
          p,
          { title, ...lifetime },
          requestInfo(ctx),
        );
        return {
          to: PAGE,
          secret: { page: PAGE, plaintext, name: credential.name, label: 'API key' },
        };
      },
    }),
  );

  router.post(
    `${PAGE}/tokens`,
    accountForm(kit, {
      schema: tokenForm,
      rerender: failed('token'),
      change: async (ctx, p, form) => {
        const rules = await credentials.rulesFor(p.account.id);
        const ttl = rules.choice && form.ttl ? Number(form.ttl) : undefined;
        const { credential, plaintext } = await credentials.createToken(p, ttl, requestInfo(ctx));
        return {
          to: PAGE,
          secret: { page: PAGE, plaintext, name: credential.name, label: 'CLI token' },
        };
      },
    }),
  );

  router.post(
    `${PAGE}/:id/delete`,
    accountForm(kit, {
      schema: noFields,
      rerender: (ctx, p, f) => render(ctx, p, { error: f.error }),
      change: async (ctx, p) => {
        await credentials.deleteById(p, ctx.params.id, requestInfo(ctx));
        return `${PAGE}?done=deleted`;
      },
    }),
  );
}
