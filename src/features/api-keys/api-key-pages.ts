/**
 * Account > Authentication > API Keys: add a key (name + expiration when the organization lets
 * users choose), generate a short-term CLI token (1–24 h), list, delete behind a confirm dialog.
 * A new secret is rendered in the POST response only — after a refresh or navigation it is gone.
 */
import type Router from '@koa/router';
import type { Context } from 'koa';
import { isAppError } from '../../platform/errors/app-error.ts';
import type { PersonalCredentialService } from './api-key-service.ts';
import type { LifetimeRules } from './api-key-policies.ts';
import type { AccountNav } from '../../platform/pages/account-nav.ts';
import type { Principal } from '../../platform/auth/principal.ts';
import { redirectToVerify } from '../../platform/pages/sudo-redirect.ts';
import { requestInfo } from '../../platform/http/request-info.ts';
import type { AccountPageKit } from '../../platform/pages/account-page-kit.ts';
import { toApiKeyResponse } from './api-key-routes.ts';

const PAGE = '/account/api-keys';
const KEY_DAYS = [7, 30, 60, 90];
const FLASH: Record<string, string> = { deleted: 'Deleted. It stopped working immediately.' };

type Form = Record<string, string | undefined>;

/** A UTC timestamp for the list: `{ date: '2026-01-31', time: '14:05 UTC' }`, or `{ text }` (e.g. Never). */
const when = (d: Date | undefined, none: string) => (d ? { date: d.toISOString().slice(0, 10), time: `${d.toISOString().slice(11, 16)} UTC` } : { text: none });

/** The Expiration dropdown: none (only when Unlimited) and 7/30/60/90 days within the maximum. */
function keyChoices(rules: LifetimeRules): { value: string; label: string }[] {
  const max = rules.maxKeyDays;
  const out = KEY_DAYS.filter((d) => max === undefined || d <= max).map((d) => ({ value: String(d), label: `${d} days` }));
  if (max === undefined) out.unshift({ value: 'none', label: 'No expiration' });
  else if (!KEY_DAYS.includes(max)) out.push({ value: String(max), label: `${max} days (maximum)` });
  return out;
}

export function registerApiKeyPages(router: Router, deps: { kit: AccountPageKit; nav: AccountNav; credentials: PersonalCredentialService; now: () => number }): void {
  const { kit, nav, credentials, now } = deps;
  nav.add({ href: PAGE, label: 'API Keys', group: 'Authentication' });

  async function render(ctx: Context, p: Principal, extra: Record<string, unknown> = {}, status = 200): Promise<void> {
    const rules = await credentials.rulesFor(p.account.id);
    const rows = (await credentials.list(p.account.id)).map((c) => {
      const r = toApiKeyResponse(c, now());
      return { ...r, type: c.kind === 'apikey' ? 'API key' : 'CLI token', created: when(r.created, ''), expiration: when(r.expiration, 'Never'), lastUsedAt: when(r.lastUsedAt, 'Never') };
    });
    kit.render(ctx, p, 'account/api-keys.njk', {
      rows, rules, keyChoices: keyChoices(rules), hours: Array.from({ length: 24 }, (_, i) => i + 1),
      defaultKeyChoice: rules.maxKeyDays === undefined ? 'none' : String(Math.min(90, rules.maxKeyDays)),
      ...extra,
    });
    ctx.status = status;
  }

  /** Runs a form action; a rule the user broke is shown on the page (with its status), not as an error page. */
  async function action(ctx: Context, run: (p: Principal, form: Form) => Promise<Record<string, unknown> | void>): Promise<void> {
    const p = await kit.signedIn(ctx);
    if (!p) return;
    const form = kit.form(ctx, p) as Form;
    try {
      const shown = await run(p, form);
      if (shown) await render(ctx, p, shown);
    } catch (err) {
      // Sudo mode: confirm it's you first (the 2-step verification pages), then come back here.
      if (isAppError(err) && err.code === 'sudo_required') return redirectToVerify(ctx, err, PAGE);
      if (!isAppError(err) || err.status >= 500 || err.code === 'unauthenticated') throw err;
      await render(ctx, p, { error: err.message, title: form.title }, err.status);
    }
  }

  router.get(PAGE, async (ctx) => {
    const p = await kit.signedIn(ctx);
    if (!p) return;
    const flash = typeof ctx.query.done === 'string' ? FLASH[ctx.query.done] : undefined;
    await render(ctx, p, { flash });
  });

  router.post(PAGE, (ctx) => action(ctx, async (p, form) => {
    const rules = await credentials.rulesFor(p.account.id);
    const choice = rules.choice ? form.expiration : undefined;
    const lifetime = choice === undefined || choice === '' ? {} : { duration: choice === 'none' ? '' : choice };
    const title = form.title?.trim() ? form.title : undefined;
    const { credential, plaintext } = await credentials.createKey(p, { title, ...lifetime }, requestInfo(ctx));
    return { created: { plaintext, name: credential.name, label: 'API key' } };
  }));

  router.post(`${PAGE}/tokens`, (ctx) => action(ctx, async (p, form) => {
    const rules = await credentials.rulesFor(p.account.id);
    const ttl = rules.choice && form.ttl ? Number(form.ttl) : undefined;
    const { credential, plaintext } = await credentials.createToken(p, ttl, requestInfo(ctx));
    return { created: { plaintext, name: credential.name, label: 'CLI token' } };
  }));

  router.post(`${PAGE}/:id/delete`, (ctx) => action(ctx, async (p) => {
    await credentials.deleteById(p, ctx.params.id, requestInfo(ctx));
    ctx.redirect(`${PAGE}?done=deleted`);
  }));
}
