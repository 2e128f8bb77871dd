/**
 * Device sign-in (issue 5): the CLI's device flow (its rules and storage, the provider's device
 * pages and options, the middleware in front of the provider), the `disable-device-login`
 * policy, and the connected apps and signed-in devices (API, page, and the provider event
 * listeners that keep the list current).
 */
import type { Composed } from '../../platform/feature.ts';
import type { Platform } from '../../platform/platform.ts';
import type { Authenticator } from '../../platform/auth/principal.ts';
import { deviceExtraParams, deviceFlowOptions } from './device-flow-options.ts';
import { PROVIDER_MOUNT } from '../../platform/oidc/provider-mount.ts';
import { DeviceRequestRepository } from './device-request-repository.ts';
import { ConnectedAppRepository } from './connected-app-repository.ts';
import { DeviceFlowService, registerDeviceLoginPolicy } from './device-flow-service.ts';
import { ConnectedAppsService } from './connected-apps-service.ts';
import { providerDeviceCodes, providerGrantStore } from './grant-store.ts';
import { deviceFlowGuard } from './device-flow-guard.ts';
import { DEVICE_CODE_GRANT, deviceTokenHooks } from './device-token-hooks.ts';
import { registerConnectedAppsRoutes } from './connected-apps-routes.ts';

export interface DeviceLoginProvides {
  deviceFlow: DeviceFlowService;
  apps: ConnectedAppsService;
}

export async function compose(
  p: Platform,
  uses: { session: Authenticator },
): Promise<Composed<DeviceLoginProvides>> {
  const { config, connection, now, provider, audit, logger } = p;
  const requests = new DeviceRequestRepository(connection, now);
  const connections = new ConnectedAppRepository(connection, now);
  await requests.ensureIndexes();
  await connections.ensureIndexes();

  registerDeviceLoginPolicy(p.policies);
  const deviceFlow = new DeviceFlowService({
    requests,
    once: p.once,
    throttle: p.throttle,
    policies: p.policies,
    organizations: p.organizations,
    rules: config.deviceFlow,
    now,
  });
  const clients = config.clients.map((c) => ({
    clientId: c.client_id,
    name: c.client_name ?? c.client_id,
    firstParty: c.firstParty,
    devices: !!c.grant_types?.includes(DEVICE_CODE_GRANT),
  }));
  const apps = new ConnectedAppsService({
    repo: connections,
    grants: providerGrantStore(provider),
    clients,
  });
  const failed = (what: string) => (err: unknown) =>
    logger.warn({ event: 'oidc.connection_record_failed', error: String(err) }, what);

  return {
    provides: { deviceFlow, apps },
    feature: {
      name: 'device-login',
      providerOptions: {
        // RFC 8628 device flow for the CLI: XXXX-XXXX codes from 20 consonants, Keyward's own pages.
        features: { deviceFlow: deviceFlowOptions(p.views) },
        // The device flow's optional `device_name` (contract §2.4), shown when the person approves.
        extraParams: deviceExtraParams,
      },
      withProvider(real) {
        real.on('grant.saved', (grant: { jti: string; accountId?: string; clientId?: string }) => {
          if (grant.accountId && grant.clientId)
            apps
              .noteGrant({
                grantId: grant.jti,
                accountId: grant.accountId,
                clientId: grant.clientId,
              })
              .catch(failed('could not record a grant'));
        });
        real.on('grant.destroyed', (grant: { jti: string }) => {
          apps.forget(grant.jti).catch(failed('could not forget a grant'));
        });
        real.on('grant.revoked', (_ctx: unknown, grantId: string) => {
          apps.forget(grantId).catch(failed('could not forget a revoked grant'));
        });
      },
      beforeProvider: [
        deviceFlowGuard({
          prefix: PROVIDER_MOUNT,
          signedIn: (ctx) => uses.session.authenticate(ctx),
          deviceFlow,
          deviceCodes: providerDeviceCodes(provider),
          accounts: p.accounts,
          audit,
          views: p.views,
          deviceClientIds: clients.filter((c) => c.devices).map((c) => c.clientId),
        }),
        deviceTokenHooks({ prefix: PROVIDER_MOUNT, deviceFlow, connections: apps, logger }),
      ],
      register: ({ router, api, nav, kit }) =>
        registerConnectedAppsRoutes(router, api, { kit, nav, apps, audit }),
      sweep: () => deviceFlow.sweep(),
    },
  };
}
