/**
 * Administration > Organization: org admins (and platform admins) read and set their
 * organization's policies and reset a member's 2-step verification.
 */
import type { Context } from 'koa';
import { AppError, isAppError } from '../../platform/errors/app-error.ts';
import type { FeatureContext } from '../../platform/feature.ts';
import type { MfaFeatureDeps } from '../mfa/mfa-parts.ts';
import type { PolicyService } from '../../platform/directory/policy-service.ts';
import { orgScope } from '../../platform/directory/policy-service.ts';
import { requestInfo } from '../../platform/http/request-info.ts';
import type { Principal } from '../../platform/auth/principal.ts';
import { resetMemberMfa } from '../mfa/mfa-api-routes.ts';
import { redirectToVerify } from '../../platform/pages/sudo-redirect.ts';

/** Turns a form field into a policy value ("" → Not set). */
function formValue(raw: string): unknown {
  if (raw === 'true' || raw === 'false') return raw === 'true';
  if (/^-?\d+$/.test(raw)) return Number(raw);
  return raw;
}

export function registerAdminPages({ router, nav, kit }: FeatureContext, deps: MfaFeatureDeps & { policies: PolicyService }): void {
  const { organizations, policies, accounts } = deps;
  nav.add({ href: '/account/admin', label: 'Organization', group: 'Administration' });

  async function render(ctx: Context, p: Principal, extra: { error?: string; flash?: string } = {}) {
    const orgs = await organizations.administeredBy(p.account.id);
    const org = orgs.find((o) => o.name === ctx.query.org) ?? orgs[0];
    if (!org) return kit.render(ctx, p, 'account/admin.njk', { org: undefined, ...extra });
    const [effective, setHere] = await Promise.all([policies.effectiveAll(org.id), policies.setAt(orgScope(org.id))]);
    const members = await Promise.all((await organizations.members(org.id)).map(async (m) => {
      const account = await accounts.findById(m.accountId);
      return account && { username: account.username, name: account.displayName, admin: m.admin, mfa: (await deps.mfa.mfa.factors(account.id)).length > 0 };
    }));
    kit.render(ctx, p, 'account/admin.njk', {
      org, orgs, members: members.filter(Boolean), ...extra,
      policies: ['enforce-mfa', 'enforce-webauthn-mfa', 'mfa-grace-period-hours', ...Object.keys(effective)].filter((n, i, a) => a.indexOf(n) === i).map((name) => ({
        name, effective: effective[name], here: setHere[name], platformOnly: policies.definition(name).platformAdminOnly === true && !p.account.platformAdmin,
        description: policies.definition(name).description,
      })),
    });
  }

  router.get('/account/admin', async (ctx) => {
    const p = await kit.signedIn(ctx);
    if (p) await render(ctx, p, { flash: ctx.query.done === 'policy' ? 'Policy saved.' : ctx.query.done === 'reset' ? '2-step verification reset.' : undefined });
  });

  router.post('/account/admin/:org/policies/:name', async (ctx) => {
    const p = await kit.signedIn(ctx);
    if (!p) return;
    const body = kit.form(ctx, p);
    try {
      const org = await organizations.requireAdmin(ctx.params.org, p.account);
      if (policies.definition(ctx.params.name).platformAdminOnly && !p.account.platformAdmin) throw new AppError('forbidden', `Only platform admins can change "${ctx.params.name}".`);
      const raw = String(body.value ?? '');
      if (raw === '') await policies.clear(orgScope(org.id), ctx.params.name);
      else await policies.set(orgScope(org.id), ctx.params.name, formValue(raw), p.account.id);
      await deps.audit.record({ type: raw === '' ? 'policy.cleared' : 'policy.set', accountId: p.account.id, request: requestInfo(ctx), details: { organization: org.name, policy: ctx.params.name, value: raw } });
      ctx.redirect(`/account/admin?org=${encodeURIComponent(org.name)}&done=policy`);
    } catch (err) {
      if (!(err instanceof AppError) || err.status >= 500) throw err;
      ctx.status = err.status;
      await render(ctx, p, { error: err.message });
    }
  });

  router.post('/account/admin/:org/users/:username/mfa-reset', async (ctx) => {
    const p = await kit.signedIn(ctx);
    if (!p) return;
    kit.form(ctx, p);
    const back = `/account/admin?org=${encodeURIComponent(ctx.params.org)}`;
    try {
      await resetMemberMfa(deps, p, ctx.params.org, ctx.params.username, requestInfo(ctx));
    } catch (err) {
      if (isAppError(err) && err.code === 'sudo_required') return redirectToVerify(ctx, err, back);
      throw err;
    }
    ctx.redirect(`${back}&done=reset`);
  });
}
