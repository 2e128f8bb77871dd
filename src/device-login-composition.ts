/**
 * Builds the device sign-in feature (issue 5): the device flow's rules and storage, the
 * middleware in front of the provider, the connected-apps API and page, the
 * `disable-device-login` policy, and the provider event listeners that keep the list of
 * connected apps current. Called once from the composition root, after the provider exists.
 */
import type { Context, Middleware } from 'koa';
import type Provider from 'oidc-provider';
import type { Config } from './config/schema.ts';
import type { Connection } from './db/connect.ts';
import type { Logger } from './logging/logger.ts';
import type { Feature } from './http/feature.ts';
import type { Views } from './http/views.ts';
import type { Principal } from './http/auth/principal.ts';
import type { ThrottleService } from './services/throttle-service.ts';
import type { PolicyService } from './services/policy-service.ts';
import type { OrganizationService } from './services/organization-service.ts';
import type { AccountService } from './services/account-service.ts';
import type { AuditService } from './services/audit-service.ts';
import { DeviceRequestRepository } from './repositories/device-request-repository.ts';
import { ConnectedAppRepository } from './repositories/connected-app-repository.ts';
import { DeviceFlowService, registerDeviceLoginPolicy } from './services/device-flow-service.ts';
import { ConnectedAppsService } from './services/connected-apps-service.ts';
import { providerDeviceCodes, providerGrantStore } from './oidc/grant-store.ts';
import { deviceFlowGuard } from './http/middleware/device-flow-guard.ts';
import { DEVICE_CODE_GRANT, deviceTokenHooks } from './http/middleware/device-token-hooks.ts';
import { registerConnectedAppsRoutes } from './http/routes/connected-apps-routes.ts';
import type { OnceClaims } from './repositories/once-marker-repository.ts';

const PROVIDER_MOUNT = '/api/oidc';

export interface DeviceLoginDeps {
  config: Config;
  connection: Connection;
  now: () => number;
  provider: Provider;
  throttle: ThrottleService;
  once: OnceClaims;
  policies: PolicyService;
  organizations: OrganizationService;
  accounts: AccountService;
  audit: AuditService;
  views: Views;
  logger: Logger;
  /** The signed-in browser user (the same rule as the account pages). */
  signedIn(ctx: Context): Promise<Principal | undefined>;
  sweeps: boolean;
}

export interface DeviceLoginParts {
  deviceFlow: DeviceFlowService;
  apps: ConnectedAppsService;
  /** Goes in front of the provider's mount (AppDeps.beforeProvider). */
  beforeProvider: Middleware[];
  features: Feature[];
  stop(): Promise<void>;
}

export async function composeDeviceLogin(deps: DeviceLoginDeps): Promise<DeviceLoginParts> {
  const { config, connection, now, provider, audit, logger } = deps;
  const requests = new DeviceRequestRepository(connection, now);
  const connections = new ConnectedAppRepository(connection, now);
  await requests.ensureIndexes();
  await connections.ensureIndexes();

  registerDeviceLoginPolicy(deps.policies);
  const deviceFlow = new DeviceFlowService({ requests, once: deps.once, throttle: deps.throttle, policies: deps.policies, organizations: deps.organizations, rules: config.deviceFlow, now });
  const clients = config.clients.map((c) => ({
    clientId: c.client_id, name: c.client_name ?? c.client_id, firstParty: c.firstParty, devices: !!c.grant_types?.includes(DEVICE_CODE_GRANT),
  }));
  const apps = new ConnectedAppsService({ repo: connections, grants: providerGrantStore(provider), clients });

  const failed = (what: string) => (err: unknown) => logger.warn({ event: 'oidc.connection_record_failed', error: String(err) }, what);
  provider.on('grant.saved', (grant: { jti: string; accountId?: string; clientId?: string }) => {
    if (grant.accountId && grant.clientId) apps.noteGrant({ grantId: grant.jti, accountId: grant.accountId, clientId: grant.clientId }).catch(failed('could not record a grant'));
  });
  provider.on('grant.destroyed', (grant: { jti: string }) => { apps.forget(grant.jti).catch(failed('could not forget a grant')); });
  provider.on('grant.revoked', (_ctx: unknown, grantId: string) => { apps.forget(grantId).catch(failed('could not forget a revoked grant')); });

  let sweep: ReturnType<typeof setInterval> | undefined;
  if (deps.sweeps) {
    sweep = setInterval(() => { deviceFlow.sweep().catch(failed('device request sweep failed')); }, config.sweepIntervalSeconds * 1000);
    sweep.unref();
  }

  return {
    deviceFlow,
    apps,
    beforeProvider: [
      deviceFlowGuard({
        prefix: PROVIDER_MOUNT, signedIn: deps.signedIn, deviceFlow, deviceCodes: providerDeviceCodes(provider), accounts: deps.accounts,
        audit, views: deps.views, deviceClientIds: clients.filter((c) => c.devices).map((c) => c.clientId),
      }),
      deviceTokenHooks({ prefix: PROVIDER_MOUNT, deviceFlow, connections: apps, logger }),
    ],
    features: [{ name: 'connected-apps', register: ({ router, api, nav, kit }) => registerConnectedAppsRoutes(router, api, { kit, nav, apps, audit }) }],
    async stop() { if (sweep) clearInterval(sweep); },
  };
}
