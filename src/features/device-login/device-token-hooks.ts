/**
 * Around oidc-provider's device authorization and token endpoints (it answers them itself; this
 * middleware sits in front of its mount and adjusts what it answered, using only `ctx.oidc`'s
 * documented params and entities):
 *
 * - `POST …/device_authorization`: adds `interval` to the response (RFC 8628 §3.2; the provider
 *   leaves it out) and remembers the request's expiry and polling interval;
 * - `POST …/token`, device_code grant: a poll sooner than the interval becomes `slow_down` (the
 *   interval then grows by 5 s, §3.5); an expired device code answers `expired_token` (the
 *   provider, which no longer finds it, would say invalid_grant);
 * - every successful token response records the grant's use (last seen, IP, device name) for
 *   the "signed-in devices" list.
 */
import type { Context, Middleware } from 'koa';
import type { KoaContextWithOIDC } from 'oidc-provider';
import type { DeviceFlowService } from './device-flow-service.ts';
import type { ConnectedAppsService } from './connected-apps-service.ts';
import type { Logger } from '../../platform/logging/logger.ts';
import { DEVICE_NAME_PARAM } from './device-flow-options.ts';

export const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

const fold = (path: string) => path.replace(/[a-z]/g, (c) => c.toUpperCase()).replace(/\/+$/, '');
const str = (v: unknown): string | undefined => (typeof v === 'string' && v ? v : undefined);

/** The provider's context, once it has handled the request (undefined if it did not). */
function oidcOf(ctx: Context): KoaContextWithOIDC['oidc'] | undefined {
  return 'oidc' in ctx ? (ctx as unknown as KoaContextWithOIDC).oidc : undefined;
}

export function deviceTokenHooks(deps: {
  prefix: string;
  deviceFlow: DeviceFlowService;
  connections: ConnectedAppsService;
  logger: Logger;
}): Middleware {
  const { deviceFlow, connections } = deps;
  const AUTHORIZE = fold(`${deps.prefix}/device_authorization`);
  const TOKEN = fold(`${deps.prefix}/token`);

  async function afterDeviceAuthorization(ctx: Context): Promise<void> {
    const body = ctx.body as Record<string, unknown> | undefined;
    const clientId = oidcOf(ctx)?.client?.clientId;
    if (
      ctx.status !== 200 ||
      typeof body?.device_code !== 'string' ||
      typeof body.user_code !== 'string' ||
      !clientId
    )
      return;
    body.interval = deviceFlow.intervalSeconds;
    await deviceFlow.started({
      deviceCode: body.device_code,
      userCode: body.user_code,
      clientId,
      expiresInSeconds: Number(body.expires_in) || 600,
    });
  }

  async function afterToken(ctx: Context): Promise<void> {
    const oidc = oidcOf(ctx);
    const params = oidc?.params;
    if (!oidc || !params) return;
    const body = ctx.body as Record<string, unknown> | undefined;
    const deviceCode =
      params.grant_type === DEVICE_CODE_GRANT ? str(params.device_code) : undefined;
    if (ctx.status === 400 && deviceCode && body?.error === 'authorization_pending') {
      if ((await deviceFlow.poll(deviceCode)) === 'slow_down') {
        ctx.body = {
          error: 'slow_down',
          error_description:
            'You are polling faster than the interval; wait 5 seconds longer between requests from now on.',
        };
      }
      return;
    }
    if (
      ctx.status === 400 &&
      deviceCode &&
      body?.error === 'invalid_grant' &&
      (await deviceFlow.isExpiredDeviceCode(deviceCode))
    ) {
      ctx.body = {
        error: 'expired_token',
        error_description: 'The device code has expired; start the sign-in again.',
      };
      return;
    }
    const token = oidc.entities.AccessToken;
    if (ctx.status !== 200 || !token?.grantId || !token.accountId || !token.clientId) return;
    const info = oidc.entities.DeviceCode?.deviceInfo;
    await connections
      .noteUse({
        grantId: token.grantId,
        accountId: token.accountId,
        clientId: token.clientId,
        ip: ctx.ip,
        userAgent: ctx.get('user-agent') || undefined,
        deviceName: deviceCode
          ? (str(info?.name) ?? str(oidc.entities.DeviceCode?.params?.[DEVICE_NAME_PARAM]))
          : undefined,
      })
      .catch((err: unknown) =>
        deps.logger.warn(
          {
            event: 'oidc.connection_record_failed',
            requestId: ctx.state.requestId,
            error: String(err),
          },
          'could not record a token use',
        ),
      );
  }

  return async (ctx, next) => {
    if (ctx.method !== 'POST') return next();
    const path = fold(ctx.path);
    if (path === AUTHORIZE) {
      await next();
      return afterDeviceAuthorization(ctx);
    }
    if (path === TOKEN) {
      await next();
      return afterToken(ctx);
    }
    return next();
  };
}
