/**
 * Connected apps and signed-in devices (contract §2.4):
 *
 *   GET    /api/oidc/connected-apps                               the caller's connected apps
 *   DELETE /api/oidc/connected-apps/{clientId}                    revoke consent and tokens
 *   DELETE /api/oidc/connected-apps/{clientId}/devices/{deviceId} sign one device out
 *
 * oidc-provider passes requests for paths it does not know on to the app, so these live on the
 * ordinary router even though they sit under its mount. The DELETEs need a browser session.
 * The page Account > Security > Signed-in devices shows the same with "Sign out" buttons.
 */
import type Router from '@koa/router';
import { z } from 'zod';
import type { ApiRegistry } from '../../platform/http/api-registry.ts';
import type { AccountNav } from '../../platform/pages/account-nav.ts';
import type { AccountPageKit } from '../../platform/pages/account-page-kit.ts';
import type { ConnectedAppsService } from './connected-apps-service.ts';
import type { AuditService } from '../../platform/directory/audit-service.ts';
import { AppError } from '../../platform/errors/app-error.ts';
import { requirePrincipal } from '../../platform/auth/principal.ts';
import { requestInfo } from '../../platform/http/request-info.ts';
import type { Context } from 'koa';
import type { Principal } from '../../platform/auth/principal.ts';
import { accountForm, noFields } from '../../platform/pages/account-form.ts';

const PAGE = '/account/devices';
const FLASH: Record<string, string> = {
  device: 'The device was signed out. Its next request will be refused.',
  app: 'The app was disconnected and its tokens revoked.',
};

const deviceSchema = z.object({
  id: z.string(),
  name: z.string(),
  firstSeenAt: z.date(),
  lastSeenAt: z.date().optional(),
  ip: z.string().optional(),
  userAgent: z.string().optional(),
});
const appSchema = z.object({
  clientId: z.string(),
  name: z.string(),
  firstParty: z.boolean(),
  connectedAt: z.date(),
  lastUsedAt: z.date().optional(),
  devices: z.array(deviceSchema).optional(),
});
const clientParams = z.object({ clientId: z.string().min(1).max(128) });
const deviceParams = clientParams.extend({ deviceId: z.string().min(1).max(64) });

/** Path parameters of a page form: a malformed one is simply a device or app that does not exist. */
function pathParams<T>(schema: z.ZodType<T>, params: unknown): T {
  const parsed = schema.safeParse(params);
  if (!parsed.success) throw new AppError('not_found', 'No such app or device on your account.');
  return parsed.data;
}

const when = (d: Date | undefined) =>
  d ? `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC` : '—';

export function registerConnectedAppsRoutes(
  router: Router,
  api: ApiRegistry,
  deps: { kit: AccountPageKit; nav: AccountNav; apps: ConnectedAppsService; audit: AuditService },
): void {
  const { kit, nav, apps, audit } = deps;
  nav.add({ href: PAGE, label: 'Signed-in devices', group: 'Security', order: 20 });

  api.add({
    method: 'get',
    path: '/api/oidc/connected-apps',
    summary: 'Apps connected to your account, with each signed-in CLI device',
    tags: ['OIDC'],
    response: { status: 200, schema: z.object({ apps: z.array(appSchema) }) },
    handler: async (ctx) => ({ apps: await apps.list((await requirePrincipal(ctx)).account.id) }),
  });

  api.add({
    method: 'delete',
    path: '/api/oidc/connected-apps/:clientId',
    summary: 'Disconnect an app: revokes its consent, codes and tokens',
    tags: ['OIDC'],
    description: 'This route requires browser session authentication.',
    params: clientParams,
    response: { status: 204 },
    handler: async (ctx, { params }) => {
      const p = await requirePrincipal(ctx, ['session']);
      const { grants } = await apps.disconnect(p.account.id, params.clientId);
      await audit.record({
        type: 'oidc.app_disconnected',
        accountId: p.account.id,
        request: requestInfo(ctx),
        details: { client: params.clientId, grants },
      });
    },
  });

  api.add({
    method: 'delete',
    path: '/api/oidc/connected-apps/:clientId/devices/:deviceId',
    summary: 'Sign one CLI device out',
    tags: ['OIDC'],
    description: 'This route requires browser session authentication.',
    params: deviceParams,
    response: { status: 204 },
    handler: async (ctx, { params }) => {
      const p = await requirePrincipal(ctx, ['session']);
      const { name } = await apps.signOutDevice(p.account.id, params.clientId, params.deviceId);
      await audit.record({
        type: 'oidc.device_signed_out',
        accountId: p.account.id,
        request: requestInfo(ctx),
        details: { client: params.clientId, device: name },
      });
    },
  });

  router.get(PAGE, async (ctx) => {
    const p = await kit.signedIn(ctx);
    if (!p) return;
    await showList(ctx, p, {
      flash: typeof ctx.query.done === 'string' ? FLASH[ctx.query.done] : undefined,
    });
  });

  const showList = async (
    ctx: Context,
    p: Principal,
    extra: { error?: string; flash?: string } = {},
  ) => {
    const list = (await apps.list(p.account.id)).map((a) => ({
      ...a,
      connectedAt: when(a.connectedAt),
      lastUsedAt: when(a.lastUsedAt),
      devices: a.devices?.map((d) => ({
        ...d,
        firstSeenAt: when(d.firstSeenAt).replace(' UTC', ''),
        lastSeenAt: when(d.lastSeenAt).replace(' UTC', ''),
      })),
    }));
    kit.render(ctx, p, 'device-login/devices.njk', { apps: list, ...extra });
  };

  router.post(
    `${PAGE}/:clientId/:deviceId/sign-out`,
    accountForm(kit, {
      schema: noFields,
      back: () => PAGE,
      rerender: (ctx, p, f) => showList(ctx, p, { error: f.error }),
      change: async (ctx, p) => {
        const { clientId, deviceId } = pathParams(deviceParams, ctx.params);
        const { name } = await apps.signOutDevice(p.account.id, clientId, deviceId);
        await audit.record({
          type: 'oidc.device_signed_out',
          accountId: p.account.id,
          request: requestInfo(ctx),
          details: { client: clientId, device: name },
        });
        return `${PAGE}?done=device`;
      },
    }),
  );

  router.post(
    `${PAGE}/:clientId/disconnect`,
    accountForm(kit, {
      schema: noFields,
      back: () => PAGE,
      rerender: (ctx, p, f) => showList(ctx, p, { error: f.error }),
      change: async (ctx, p) => {
        const { clientId } = pathParams(clientParams, ctx.params);
        const { grants } = await apps.disconnect(p.account.id, clientId);
        await audit.record({
          type: 'oidc.app_disconnected',
          accountId: p.account.id,
          request: requestInfo(ctx),
          details: { client: clientId, grants },
        });
        return `${PAGE}?done=app`;
      },
    }),
  );
}
