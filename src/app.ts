/** createApp(deps): the Koa application, given everything it uses. Builds nothing of its own. */
import { readFileSync } from 'node:fs';
import Koa from 'koa';
import Router from '@koa/router';
import mount from 'koa-mount';
import type Provider from 'oidc-provider';
import type { Config } from './platform/config/schema.ts';
import type { Logger } from './platform/logging/logger.ts';
import { ApiRegistry } from './platform/http/api-registry.ts';
import type { Views } from './platform/http/views.ts';
import { requestContext } from './platform/http/middleware/request-context.ts';
import { errorHandler } from './platform/http/middleware/error-handler.ts';
import { securityHeaders } from './platform/http/middleware/security-headers.ts';
import { databaseGate } from './platform/http/middleware/database-gate.ts';
import { sameOriginGuard } from './platform/http/middleware/same-origin-guard.ts';
import { requestBody } from './platform/http/middleware/request-body.ts';
import { registerHealthRoutes } from './platform/http/health-routes.ts';
import { registerOpenApiRoute } from './platform/http/openapi-routes.ts';
import { registerStaticRoutes } from './platform/http/static-routes.ts';
import { AccountNav } from './platform/pages/account-nav.ts';
import { createAccountPageKit } from './platform/pages/account-page-kit.ts';
import { principalResolver } from './platform/auth/principal.ts';
import { SESSION_COOKIE } from './platform/oidc/session-cookie.ts';
import { PROVIDER_MOUNT } from './platform/oidc/provider-mount.ts';
import type { Feature } from './platform/feature.ts';
import { oneTimeSecrets } from './platform/pages/one-time-secret.ts';
import type { SudoGuard } from './platform/auth/sudo-service.ts';
import type { OnceClaims } from './platform/store/once-marker-repository.ts';

export interface AppDeps {
  config: Config;
  logger: Logger;
  cookieKeys: string[];
  provider: Provider;
  views: Views;
  database: { isConnected: () => boolean; ping: () => Promise<boolean> };
  staticDir: string;
  /** The features (src/features/*), in order: their routes, pages, API, credential checkers and the middleware they run in front of the provider. */
  features: Feature[];
  /** Sudo mode for the account pages' forms. */
  sudo: SudoGuard;
  /** Exactly-once claims (the account pages' one-time secrets). */
  once: OnceClaims;
}

const VERSION = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string;
  }
).version;

export function createApp(deps: AppDeps): Koa {
  const { config, logger, provider, views } = deps;
  // The client address is taken config.trustProxy entries from the right of X-Forwarded-For, never from the client's own part.
  const app = new Koa({
    proxy: config.trustProxy > 0,
    maxIpsCount: config.trustProxy,
    keys: deps.cookieKeys,
  });
  app.silent = true;

  const api = new ApiRegistry();
  registerHealthRoutes(api, deps.database.ping);
  registerOpenApiRoute(api, { version: VERSION, serverUrl: config.baseUrl });

  const router = new Router();
  registerStaticRoutes(router, deps.staticDir);
  const nav = new AccountNav();
  const kit = createAccountPageKit(views, nav, {
    sudo: deps.sudo,
    secrets: oneTimeSecrets(deps.once),
  });
  for (const feature of deps.features) feature.register?.({ router, api, nav, kit, views });
  api.mount(router);

  app.use(requestContext(logger, config.accessLog));
  app.use(errorHandler(logger, views, config.baseUrl));
  app.use(securityHeaders({ hsts: config.baseUrl.startsWith('https://') }));
  app.use(
    databaseGate(deps.database.isConnected, [
      '/healthz',
      '/readyz',
      '/api/openapi.json',
      '/static/',
    ]),
  );
  for (const m of deps.features.flatMap((f) => f.beforeProvider ?? [])) app.use(m);
  app.use(mount(PROVIDER_MOUNT, provider));
  app.use(principalResolver(deps.features.flatMap((f) => f.authenticators ?? [])));
  app.use(
    sameOriginGuard({
      publicOrigin: new URL(config.baseUrl).origin,
      sessionCookie: SESSION_COOKIE,
    }),
  );
  app.use(requestBody({ limitBytes: config.bodyLimitBytes }));
  app.use(router.routes());
  app.use(router.allowedMethods({ throw: true }));
  return app;
}
