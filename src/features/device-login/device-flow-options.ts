/**
 * oidc-provider's device flow (RFC 8628) options: user codes of 8 letters from the 20-consonant
 * alphabet shown as XXXX-XXXX, the `device_name` parameter, and Keyward's own pages for code
 * entry, confirmation and the outcome. Only public configuration is used. The guard middleware
 * in front of the provider (src/http/middleware/device-flow-guard.ts) passes the signed-in account
 * in through `ctx.state.devicePage` and reads back what the page showed (`outcome`), so it can
 * count wrong codes and record audit events.
 */
import {
  errors,
  type Configuration,
  type ErrorOut,
  type KoaContextWithOIDC,
  type UnknownObject,
} from 'oidc-provider';
import type { Views } from '../../platform/http/views.ts';

export type DevicePageOutcome =
  'entry' | 'wrong_code' | 'expired' | 'used' | 'confirm' | 'denied' | 'approved' | 'error';

export interface DevicePageState {
  account?: { username: string; displayName: string };
  isExpiredUserCode?(userCode: string): Promise<boolean>;
  outcome?: DevicePageOutcome;
  clientId?: string;
  deviceName?: string;
}

declare module 'koa' {
  interface DefaultState {
    devicePage?: DevicePageState;
  }
}

export const DEVICE_NAME_PARAM = 'device_name';
const DEVICE_NAME = /^[\p{L}\p{N}\p{P}\p{S} ]{1,64}$/u;

/** oidc-provider `extraParams`: the optional, human-readable `device_name` (contract §2.4). */
export const deviceExtraParams = {
  [DEVICE_NAME_PARAM](_ctx: KoaContextWithOIDC, value: string | undefined) {
    if (value !== undefined && !DEVICE_NAME.test(value)) {
      throw new errors.InvalidRequest('device_name must be 1–64 printable characters');
    }
  },
};

const str = (v: unknown): string | undefined => (typeof v === 'string' && v ? v : undefined);

function whenText(epochSeconds: number | undefined): { iso?: string; text: string } {
  if (!epochSeconds) return { text: 'unknown' };
  const at = new Date(epochSeconds * 1000);
  const minutes = Math.round((Date.now() - at.getTime()) / 60000);
  const ago = minutes < 1 ? 'just now' : minutes === 1 ? '1 minute ago' : `${minutes} minutes ago`;
  return {
    iso: at.toISOString(),
    text: `${at.toISOString().slice(0, 16).replace('T', ' ')} UTC (${ago})`,
  };
}

const xsrfOf = (form: string): string => /name="xsrf" value="([^"]*)"/.exec(form)?.[1] ?? '';

export function deviceFlowOptions(views: Views) {
  const page = (ctx: KoaContextWithOIDC, template: string, context: Record<string, unknown>) => {
    ctx.type = 'html';
    ctx.set('Cache-Control', 'no-store');
    ctx.body = views.render(template, { account: ctx.state.devicePage?.account, ...context });
  };
  const note = (
    ctx: KoaContextWithOIDC,
    outcome: DevicePageOutcome,
    extra: Partial<DevicePageState> = {},
  ) => {
    if (ctx.state.devicePage) Object.assign(ctx.state.devicePage, { outcome, ...extra });
  };
  const clientName = (ctx: KoaContextWithOIDC) =>
    ctx.oidc.client?.clientName ?? ctx.oidc.client?.clientId ?? 'the application';

  return {
    enabled: true,
    charset: 'base-20',
    mask: '****-****',
    deviceInfo(ctx: KoaContextWithOIDC): UnknownObject {
      return {
        ip: ctx.ip,
        ua: (ctx.get('user-agent') || '').slice(0, 300),
        name: str(ctx.oidc.params?.[DEVICE_NAME_PARAM]),
      };
    },

    async userCodeInputSource(
      ctx: KoaContextWithOIDC,
      form: string,
      out?: ErrorOut,
      err?: Error & { userCode?: string },
    ) {
      if (err?.name === 'AbortedError') {
        note(ctx, 'denied');
        ctx.status = 200;
        return page(ctx, 'device-login/result.njk', {
          status: 'error',
          title: 'Sign-in denied',
          message:
            'The device was not signed in. If you did not start this sign-in, there is nothing else to do.',
        });
      }
      let error: string | undefined;
      let outcome: DevicePageOutcome = 'entry';
      if (err?.name === 'NoCodeError') error = 'Enter the code shown on your device.';
      else if (err?.name === 'ExpiredError')
        [error, outcome] = [
          'This code has expired. Start the sign-in again on your device to get a new one.',
          'expired',
        ];
      else if (err?.name === 'AlreadyUsedError')
        [error, outcome] = [
          'This code has already been used. Start the sign-in again on your device to get a new one.',
          'used',
        ];
      else if (err?.name === 'NotFoundError' && ctx.oidc.route === 'code_verification') {
        const expired = err.userCode
          ? await ctx.state.devicePage?.isExpiredUserCode?.(err.userCode)
          : false;
        [error, outcome] = expired
          ? [
              'This code has expired. Start the sign-in again on your device to get a new one.',
              'expired',
            ]
          : [
              'That code is not valid. Check the code shown on your device and try again.',
              'wrong_code',
            ];
      } else if (err?.name === 'NotFoundError')
        [error, outcome] = [
          'This sign-in request no longer exists. Start again on your device.',
          'expired',
        ];
      else if (err || out)
        [error, outcome] = [
          out?.error === 'invalid_request'
            ? 'This page has expired. Enter the code again.'
            : 'Something went wrong. Enter the code again.',
          'error',
        ];
      note(ctx, outcome);
      page(ctx, 'device-login/code.njk', {
        action: ctx.oidc.urlFor('code_verification'),
        xsrf: xsrfOf(form),
        error,
        userCode: typeof err?.userCode === 'string' ? err.userCode.slice(0, 32) : '',
      });
    },

    async userCodeConfirmSource(
      ctx: KoaContextWithOIDC,
      form: string,
      client: { clientId: string; clientName?: string },
      deviceInfo: UnknownObject,
      userCode: string,
    ) {
      const code = ctx.oidc.entities.DeviceCode;
      const deviceName = str(deviceInfo?.name) ?? str(code?.params?.[DEVICE_NAME_PARAM]);
      note(ctx, 'confirm', { clientId: client.clientId, deviceName });
      page(ctx, 'device-login/confirm.njk', {
        form,
        userCode,
        clientName: client.clientName ?? client.clientId,
        deviceName,
        ip: str(deviceInfo?.ip),
        userAgent: str(deviceInfo?.ua),
        requested: whenText(code?.iat),
      });
    },

    async successSource(ctx: KoaContextWithOIDC) {
      const code = ctx.oidc.entities.DeviceCode;
      const deviceName = str(code?.deviceInfo?.name) ?? str(code?.params?.[DEVICE_NAME_PARAM]);
      note(ctx, 'approved', { clientId: ctx.oidc.client?.clientId, deviceName });
      page(ctx, 'device-login/result.njk', {
        status: 'ok',
        title: 'Device signed in',
        message: `${clientName(ctx)}${deviceName ? ` on “${deviceName}”` : ''} is now signed in to your account. You can close this window and return to your device.`,
      });
    },
  } satisfies NonNullable<NonNullable<Configuration['features']>['deviceFlow']>;
}
