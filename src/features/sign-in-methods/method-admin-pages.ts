/**
 * Administration > Sign-in methods: adding, changing, testing and deleting an organization's OIDC
 * and LDAP methods on the page (issue 15), for its admins. Every change goes through the same
 * service calls as the REST API (sealing, the private-address guard, the connection check, audit),
 * through `accountForm` (CSRF, sudo mode — a sign-in method is a way in —, the form's rules, 303,
 * the message at its field). Secrets are write-only: never rendered, and blank on an edit keeps them.
 */
import type { Context } from 'koa';
import type { FeatureContext } from '../../platform/feature.ts';
import type { Principal } from '../../platform/auth/principal.ts';
import type { Organization } from '../../platform/directory/organization-repository.ts';
import type { OrganizationService } from '../../platform/directory/organization-service.ts';
import { AppError, isAppError } from '../../platform/errors/app-error.ts';
import { requestInfo } from '../../platform/http/request-info.ts';
import {
  accountForm,
  noFields,
  toVerify,
  type FormFailure,
} from '../../platform/pages/account-form.ts';
import type { LdapSettings } from './ldap-directory.ts';
import type { StoredMethod } from './sign-in-method-repository.ts';
import type { SignInMethodService } from './sign-in-method-service.ts';
import type { LdapInput, OidcInput } from './schema.ts';
import {
  atField,
  formSchema,
  FORMS,
  formValues,
  SECRET_FIELDS,
  type FormType,
} from './method-forms.ts';

const PAGE = '/account/admin/sign-in-methods';
const TYPES: Record<FormType, string> = { oidc: 'OpenID Connect', ldap: 'LDAP directory' };
const listOf = (org: string, done?: string) =>
  `${PAGE}?org=${encodeURIComponent(org)}${done ? `&done=${done}` : ''}`;
const asType = (t: string): FormType => {
  if (t !== 'oidc' && t !== 'ldap')
    throw new AppError('not_found', `No sign-in method type "${t}": choose oidc or ldap.`);
  return t;
};

interface Shown {
  failure?: FormFailure;
  flash?: string;
  values?: Record<string, string>;
}

export function registerMethodAdminPages(
  { router, kit }: Pick<FeatureContext, 'router' | 'kit'>,
  deps: {
    service: SignInMethodService;
    organizations: OrganizationService;
    /** The list page, with a message (a failed delete). */
    renderList: (ctx: Context, p: Principal, extra: { error?: string }) => Promise<void>;
    callbackUrl: string;
  },
): void {
  const { service, organizations } = deps;
  const adminOf = (ctx: Context, p: Principal) =>
    organizations.requireAdmin(ctx.params.org, p.account);
  /** The method an edit URL names, of a type the page edits (not the password method). */
  const editable = async (org: Organization, name: string) => {
    const m = await service.require(org, name);
    if (m.type === 'password')
      throw new AppError('not_found', 'The password method has no settings to change.');
    return m as StoredMethod & { type: FormType };
  };

  function showForm(
    ctx: Context,
    p: Principal,
    org: Organization,
    type: FormType,
    method: StoredMethod | undefined,
    shown: Shown = {},
  ) {
    const editing = method !== undefined;
    const stored = formValues(type, method);
    const { failure } = shown;
    const posted = failure?.form ?? shown.values;
    const fields = FORMS[type]
      .filter((f) => !f.platformOnly || p.account.platformAdmin)
      .map((f) => {
        const secret = SECRET_FIELDS.includes(f.name);
        const value = secret
          ? ''
          : f.createOnly && editing
            ? stored[f.name]
            : posted
              ? (posted[f.name] ?? '')
              : stored[f.name];
        return {
          ...f,
          value,
          secret,
          readonly: f.createOnly && editing,
          kept: editing && secret && method.sealed[f.name as 'bindPassword'] !== undefined,
          error: failure?.field === f.name ? failure.error : undefined,
        };
      });
    const atAField = fields.some((f) => f.error);
    const section = (s: string) => fields.filter((f) => f.section === s);
    const action = editing
      ? `${PAGE}/${org.name}/methods/${method.name}`
      : `${PAGE}/${org.name}/new/${type}`;
    kit.render(ctx, p, 'sign-in-methods/method-form.njk', {
      org,
      type,
      typeLabel: TYPES[type],
      editing,
      method,
      action,
      active: PAGE,
      redirectUri: deps.callbackUrl,
      main: section('main'),
      endpoints: section('endpoints'),
      advanced: section('advanced'),
      endpointsOpen:
        section('endpoints').some((f) => f.error || f.value) ||
        fields.find((f) => f.name === 'discoverEndpoints')?.value === '',
      advancedOpen: section('advanced').some((f) => f.error),
      error: failure && !atAField ? failure.error : undefined,
      flash: shown.flash,
    });
  }

  router.get(`${PAGE}/:org/new`, async (ctx) => {
    const p = await kit.signedIn(ctx);
    if (!p) return;
    const org = await adminOf(ctx, p);
    kit.render(ctx, p, 'sign-in-methods/method-new.njk', { org, active: PAGE });
  });

  router.get(`${PAGE}/:org/new/:type`, async (ctx) => {
    const p = await kit.signedIn(ctx);
    if (p) showForm(ctx, p, await adminOf(ctx, p), asType(ctx.params.type), undefined);
  });

  router.get(`${PAGE}/:org/methods/:name`, async (ctx) => {
    const p = await kit.signedIn(ctx);
    if (!p) return;
    const org = await adminOf(ctx, p);
    const m = await editable(org, ctx.params.name);
    showForm(ctx, p, org, m.type, m);
  });

  /** Renders the form again after a failure, as it was (for a method that may not exist yet). */
  const rerender =
    (editing: boolean) => async (ctx: Context, p: Principal, failure: FormFailure) => {
      const org = await adminOf(ctx, p);
      if (!editing) return showForm(ctx, p, org, asType(ctx.params.type), undefined, { failure });
      const m = await editable(org, ctx.params.name);
      showForm(ctx, p, org, m.type, m, { failure });
    };

  for (const type of ['oidc', 'ldap'] as const) {
    router.post(`${PAGE}/:org/new/${type}`, async (ctx) => {
      ctx.params.type = type;
      await accountForm(kit, {
        schema: formSchema(type, false),
        sudo: 'add a sign-in method',
        secretFields: SECRET_FIELDS,
        rerender: rerender(false),
        change: async (c, p, input) => {
          const org = await adminOf(c, p);
          try {
            if (type === 'oidc')
              await service.createOidc(org, input as OidcInput, p.account, requestInfo(c));
            else await service.createLdap(org, input as LdapInput, p.account, requestInfo(c));
          } catch (err) {
            throw atField(type, err);
          }
          return listOf(org.name, 'created');
        },
      })(ctx);
    });
  }

  router.post(`${PAGE}/:org/methods/:name`, async (ctx) => {
    const p = await kit.signedIn(ctx);
    if (!p) return;
    const m = await editable(await adminOf(ctx, p), ctx.params.name);
    await accountForm(kit, {
      schema: formSchema(m.type, true),
      sudo: 'change a sign-in method',
      secretFields: SECRET_FIELDS,
      rerender: rerender(true),
      change: async (c, pr, patch) => {
        const org = await adminOf(c, pr);
        try {
          if (m.type === 'oidc')
            await service.patchOidc(
              org,
              m.name,
              patch as Partial<OidcInput>,
              pr.account,
              requestInfo(c),
            );
          else
            await service.patchLdap(
              org,
              m.name,
              patch as Partial<LdapInput>,
              pr.account,
              requestInfo(c),
            );
        } catch (err) {
          throw atField(m.type, err);
        }
        return listOf(org.name, 'updated');
      },
    })(ctx);
  });

  router.post(
    `${PAGE}/:org/methods/:name/delete`,
    accountForm(kit, {
      schema: noFields,
      sudo: 'delete a sign-in method',
      back: (ctx) => listOf(ctx.params.org),
      rerender: (ctx, p, f) => deps.renderList(ctx, p, { error: f.error }),
      change: async (ctx, p) => {
        const org = await adminOf(ctx, p);
        await service.delete(org, ctx.params.name, p.account, requestInfo(ctx));
        return listOf(org.name, 'deleted');
      },
    }),
  );

  /**
   * "Test connection": the LDAP form's settings, tried as saving would try them (connect, TLS,
   * service bind, a search), without saving. It changes nothing, so it answers the form itself
   * (what was typed, the outcome) rather than post/redirect/get. Testing a saved method's stored
   * bind password against a changed URL could send that password elsewhere: that needs sudo mode.
   */
  const testRoute = (editing: boolean) => async (ctx: Context) => {
    const p = await kit.signedIn(ctx);
    if (!p) return;
    const body = kit.form(ctx, p);
    const echo = Object.fromEntries(
      Object.entries(body).filter(
        ([k, v]) => typeof v === 'string' && k !== '_csrf' && !SECRET_FIELDS.includes(k),
      ),
    ) as Record<string, string>;
    const org = await adminOf(ctx, p);
    const method = editing ? await editable(org, ctx.params.name) : undefined;
    if (method?.type === 'oidc')
      throw new AppError('not_found', 'Only LDAP methods have a connection test.');
    const show = (shown: Shown) => showForm(ctx, p, org, 'ldap', method, shown);
    try {
      if (editing) await kit.sudo.require(p, 'test a directory with its stored bind password');
      const parsed = formSchema('ldap', true).safeParse(body);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        ctx.status = 400;
        return show({
          failure: { error: issue.message, field: String(issue.path[0] ?? ''), form: echo },
        });
      }
      const input = parsed.data as Partial<LdapInput>;
      try {
        if (method) await service.testLdapPatch(org, method.name, input, p.account);
        else {
          const { bindPassword, name: _n, displayName: _d, ...settings } = input;
          await service.testLdap(settings as LdapSettings, bindPassword, p.account);
        }
      } catch (err) {
        throw atField('ldap', err);
      }
      show({
        values: echo,
        flash: `Connection works: Keyward reached the directory, signed in as the service account and searched the base DN.${method || !body.bindPassword ? '' : ' Type the bind password again to save.'}`,
      });
    } catch (err) {
      if (isAppError(err) && err.code === 'sudo_required')
        return toVerify(ctx, err.params.verifyUrl, ctx.path.replace(/\/test$/, ''));
      if (!isAppError(err) || err.status >= 500) throw err;
      ctx.status = err.status;
      show({
        failure: {
          error: err.message,
          field: err.fieldErrors[0]?.pointer?.replace(/^#\//, ''),
          form: echo,
        },
      });
    }
  };
  router.post(`${PAGE}/:org/new/ldap/test`, testRoute(false));
  router.post(`${PAGE}/:org/methods/:name/test`, testRoute(true));
}
