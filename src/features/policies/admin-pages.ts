/**
 * Administration > Organization (shown to administrators only): the organization's policies by
 * subject with human names (policy-catalog.ts), each Enabled / Disabled / Not set with the platform
 * default it falls back to, one Save per group; a warning before a sign-in policy that would lock
 * the admin (or members) out; members and resetting a member's 2-step verification.
 */
import type { Context } from 'koa';
import { z } from 'zod';
import { AppError } from '../../platform/errors/app-error.ts';
import type { FeatureContext } from '../../platform/feature.ts';
import type { MfaFeatureDeps } from '../mfa/mfa-parts.ts';
import type { PolicyService } from '../../platform/directory/policy-service.ts';
import { orgScope } from '../../platform/directory/policy-service.ts';
import { requestInfo } from '../../platform/http/request-info.ts';
import type { Principal } from '../../platform/auth/principal.ts';
import { resetMemberMfa } from '../mfa/mfa-api-routes.ts';
import { accountForm, noFields, type FormFailure } from '../../platform/pages/account-form.ts';
import {
  POLICY_GROUPS,
  describeValue,
  formToValue,
  valueToForm,
  type PolicyGroup,
} from './policy-catalog.ts';

const PAGE = '/account/admin';
const DONE: Record<string, string> = {
  policy: 'Policy saved.',
  reset: '2-step verification reset.',
};

export function registerAdminPages(
  { router, nav, kit }: FeatureContext,
  deps: MfaFeatureDeps & { policies: PolicyService },
): void {
  const { organizations, policies, accounts } = deps;
  nav.add({
    href: PAGE,
    label: 'Organization',
    group: 'Administration',
    visible: async (p) =>
      p.account.platformAdmin || (await organizations.administeredBy(p.account.id)).length > 0,
  });

  /** The catalog's groups with only registered policies, plus "Other" for any the catalog does not name. */
  function groups(): PolicyGroup[] {
    const known = (name: string) => {
      try {
        policies.definition(name);
        return true;
      } catch {
        return false;
      }
    };
    const out = POLICY_GROUPS.map((g) => ({
      ...g,
      policies: g.policies.filter((p) => known(p.name)),
    })).filter((g) => g.policies.length);
    return out;
  }

  /** Members without a factor that satisfies `level` (any second factor, or a security key). */
  async function unprotected(
    orgId: string,
    level: 'any' | 'key',
  ): Promise<{ id: string; username: string }[]> {
    const out: { id: string; username: string }[] = [];
    for (const m of await organizations.members(orgId)) {
      const account = await accounts.findById(m.accountId);
      if (!account) continue;
      const factors = await deps.mfa.mfa.factors(account.id);
      if (!(level === 'key' ? factors.some((f) => f.type === 'webauthn') : factors.length > 0))
        out.push({ id: account.id, username: account.username });
    }
    return out;
  }

  async function render(
    ctx: Context,
    p: Principal,
    extra: {
      error?: string;
      flash?: string;
      editing?: { group: string; form: Record<string, string> };
      confirm?: string;
    } = {},
  ) {
    const orgs = await organizations.administeredBy(p.account.id);
    const org = orgs.find((o) => o.name === ctx.query.org || o.name === ctx.params.org) ?? orgs[0];
    if (!org) return kit.render(ctx, p, 'policies/admin.njk', { org: undefined, ...extra });
    const [effective, setHere] = await Promise.all([
      policies.effectiveAll(org.id),
      policies.setAt(orgScope(org.id)),
    ]);
    const members = await Promise.all(
      (await organizations.members(org.id)).map(async (m) => {
        const account = await accounts.findById(m.accountId);
        return (
          account && {
            username: account.username,
            name: account.displayName,
            admin: m.admin,
            mfa: (await deps.mfa.mfa.factors(account.id)).length > 0,
          }
        );
      }),
    );
    const shown = groups().map((g) => ({
      ...g,
      editing: extra.editing?.group === g.id,
      confirm: extra.editing?.group === g.id ? extra.confirm : undefined,
      setCount: g.policies.filter((entry) => setHere[entry.name] !== undefined).length,
      open: g.id === 'sign-in' || extra.editing?.group === g.id,
      policies: g.policies.map((entry) => {
        const def = policies.definition(entry.name);
        const eff = effective[entry.name];
        const platformSet = eff?.level === 'platform';
        return {
          ...entry,
          description: entry.help,
          here: describeValue(entry.control, setHere[entry.name]),
          fallback:
            def.defaultValue === undefined
              ? 'Not set'
              : describeValue(entry.control, def.defaultValue),
          effective: eff ? describeValue(entry.control, eff.value) : 'Not set',
          level: eff?.level,
          value:
            extra.editing?.group === g.id
              ? (extra.editing.form[entry.name] ?? '')
              : valueToForm(setHere[entry.name]),
          locked: platformSet
            ? 'Set by the platform, which takes precedence.'
            : def.platformAdminOnly && !p.account.platformAdmin
              ? 'Only platform administrators can change this.'
              : undefined,
        };
      }),
    }));
    kit.render(ctx, p, 'policies/admin.njk', {
      org,
      orgs,
      members: members.filter(Boolean),
      groups: shown,
      error: extra.error,
      flash: extra.flash,
    });
  }

  router.get(PAGE, async (ctx) => {
    const p = await kit.signedIn(ctx);
    if (p) await render(ctx, p, { flash: DONE[String(ctx.query.done)] });
  });

  const back = (ctx: Context) => `${PAGE}?org=${encodeURIComponent(ctx.params.org)}`;

  /** One Save per group: every field of the group is validated first, then the changed ones are applied. */
  router.post(
    `${PAGE}/:org/policy-groups/:group`,
    accountForm(kit, {
      schema: z.record(z.string(), z.unknown()),
      back,
      fieldOf: (err) => (err.params.confirm ? 'confirm' : undefined),
      rerender: (ctx, p, f: FormFailure) =>
        render(ctx, p, {
          error: f.field === 'confirm' ? undefined : f.error,
          confirm: f.field === 'confirm' ? f.error : undefined,
          editing: { group: ctx.params.group, form: f.form },
        }),
      change: async (ctx, p, body) => {
        const org = await organizations.requireAdmin(ctx.params.org, p.account);
        const group = groups().find((g) => g.id === ctx.params.group);
        if (!group) throw new AppError('not_found', `No policy group "${ctx.params.group}".`);
        const setHere = await policies.setAt(orgScope(org.id));
        const changes: { name: string; value: unknown }[] = [];
        for (const entry of group.policies) {
          const raw = body[entry.name];
          if (typeof raw !== 'string') continue; // a locked field is not posted
          const value = formToValue(entry.control, raw);
          if (valueToForm(value) === valueToForm(setHere[entry.name])) continue;
          const def = policies.definition(entry.name);
          if (def.platformAdminOnly && !p.account.platformAdmin)
            throw new AppError('forbidden', `Only platform admins can change "${entry.label}".`);
          if (value !== undefined) {
            const parsed = def.schema.safeParse(value);
            if (!parsed.success)
              throw new AppError(
                'validation_failed',
                `${entry.label}: ${parsed.error.issues[0].message}.`,
              );
          }
          changes.push({ name: entry.name, value });
        }
        if (body.confirm !== 'yes') await warnBeforeLockOut(org.id, p, changes);
        for (const c of changes) {
          if (c.value === undefined) await policies.clear(orgScope(org.id), c.name);
          else await policies.set(orgScope(org.id), c.name, c.value, p.account.id);
          await deps.audit.record({
            type: c.value === undefined ? 'policy.cleared' : 'policy.set',
            accountId: p.account.id,
            request: requestInfo(ctx),
            details: { organization: org.name, policy: c.name, value: valueToForm(c.value) },
          });
        }
        return `${back(ctx)}&done=policy`;
      },
    }),
  );

  /** Tightening sign-in: name who would be locked out (the admin first) and ask again. */
  async function warnBeforeLockOut(
    orgId: string,
    p: Principal,
    changes: { name: string; value: unknown }[],
  ): Promise<void> {
    const key = changes.find((c) => c.name === 'enforce-webauthn-mfa' && c.value !== undefined);
    const any = changes.find((c) => c.name === 'enforce-mfa' && c.value === true);
    if (!key && !any) return;
    const affected = await unprotected(orgId, key ? 'key' : 'any');
    if (!affected.length) return;
    const self = affected.some((a) => a.id === p.account.id);
    const what = key ? 'a security key' : 'a second factor';
    const others = affected.filter((a) => a.id !== p.account.id).length;
    throw new AppError(
      'conflict',
      [
        self
          ? `You have no ${what.replace(/^a /, '')} yet: after saving, your next sign-in will require you to register one before you can continue. Register one first to be safe.`
          : '',
        `${affected.length} member${affected.length === 1 ? '' : 's'} of this organization ${affected.length === 1 ? 'has' : 'have'} no ${what.replace(/^a /, '')}${others && self ? ` (${others} besides you)` : ''} and will have to register one at their next sign-in.`,
      ]
        .filter(Boolean)
        .join(' '),
      { params: { confirm: true, self } },
    );
  }

  /** One policy at a time (kept for scripts and bookmarks; the page saves by group). */
  router.post(
    `${PAGE}/:org/policies/:name`,
    accountForm(kit, {
      schema: z.object({
        value: z
          .string()
          .optional()
          .transform((v) => v ?? ''),
      }),
      back,
      rerender: (ctx, p, f) => render(ctx, p, { error: f.error }),
      change: async (ctx, p, form) => {
        const org = await organizations.requireAdmin(ctx.params.org, p.account);
        if (policies.definition(ctx.params.name).platformAdminOnly && !p.account.platformAdmin)
          throw new AppError('forbidden', `Only platform admins can change "${ctx.params.name}".`);
        const entry = POLICY_GROUPS.flatMap((g) => g.policies).find(
          (e) => e.name === ctx.params.name,
        );
        const raw = form.value.trim();
        const guess =
          raw === 'true' || raw === 'false'
            ? raw === 'true'
            : /^-?\d+$/.test(raw)
              ? Number(raw)
              : raw;
        const value = entry ? formToValue(entry.control, raw) : raw === '' ? undefined : guess;
        if (value === undefined) await policies.clear(orgScope(org.id), ctx.params.name);
        else await policies.set(orgScope(org.id), ctx.params.name, value, p.account.id);
        await deps.audit.record({
          type: value === undefined ? 'policy.cleared' : 'policy.set',
          accountId: p.account.id,
          request: requestInfo(ctx),
          details: { organization: org.name, policy: ctx.params.name, value: form.value },
        });
        return `${back(ctx)}&done=policy`;
      },
    }),
  );

  router.post(
    `${PAGE}/:org/users/:username/mfa-reset`,
    accountForm(kit, {
      schema: noFields,
      back,
      rerender: (ctx, p, f) => render(ctx, p, { error: f.error }),
      change: async (ctx, p) => {
        await resetMemberMfa(deps, p, ctx.params.org, ctx.params.username, requestInfo(ctx));
        return `${back(ctx)}&done=reset`;
      },
    }),
  );
}
