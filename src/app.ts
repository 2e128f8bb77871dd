/** createApp(deps): the Koa application, given everything it uses. Builds nothing of its own. */
import { readFileSync } from 'node:fs';
import Koa, { type Middleware } from 'koa';
import Router from '@koa/router';
import mount from 'koa-mount';
import type Provider from 'oidc-provider';
import type { Config } from './config/schema.ts';
import type { Logger } from './logging/logger.ts';
import type { AccountService } from './services/account-service.ts';
import { ApiRegistry } from './http/api-registry.ts';
import type { Views } from './http/views.ts';
import { requestContext } from './http/middleware/request-context.ts';
import { errorHandler } from './http/middleware/error-handler.ts';
import { securityHeaders } from './http/middleware/security-headers.ts';
import { databaseGate } from './http/middleware/database-gate.ts';
import { sameOriginGuard } from './http/middleware/same-origin-guard.ts';
import { requestBody } from './http/middleware/request-body.ts';
import { registerHealthRoutes } from './http/routes/health-routes.ts';
import { registerOpenApiRoute } from './http/routes/openapi-routes.ts';
import { registerInteractionRoutes, type SignInHooks } from './http/routes/interaction-routes.ts';
import { registerStaticRoutes } from './http/routes/static-routes.ts';
import { registerHomeRoutes } from './http/routes/home-routes.ts';
import { AccountNav } from './http/account-nav.ts';
import { createAccountPageKit } from './http/routes/account-routes.ts';
import { principalResolver, type Authenticator } from './http/auth/principal.ts';
import { SESSION_COOKIE } from './http/auth/session-authenticator.ts';
import type { Feature } from './http/feature.ts';

export interface AppDeps {
  config: Config;
  logger: Logger;
  cookieKeys: string[];
  provider: Provider;
  views: Views;
  accounts: AccountService;
  database: { isConnected: () => boolean; ping: () => Promise<boolean> };
  staticDir: string;
  /** Credential checkers, tried in order (browser session, API keys, tokens, …). */
  authenticators: Authenticator[];
  /** Feature modules: their routes, pages and API. */
  features: Feature[];
  /** Middleware run in front of the OIDC provider (e.g. answering for Keyward's own credentials). */
  beforeProvider?: Middleware[];
  /** The organization sign-in methods' part in the login step (src/features/sign-in-methods). */
  signInHooks?: SignInHooks;
}

const VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

export function createApp(deps: AppDeps): Koa {
  const { config, logger, provider, views } = deps;
  // The client address is taken config.trustProxy entries from the right of X-Forwarded-For, never from the client's own part.
  const app = new Koa({ proxy: config.trustProxy > 0, maxIpsCount: config.trustProxy, keys: deps.cookieKeys });
  app.silent = true;

  const api = new ApiRegistry();
  registerHealthRoutes(api, deps.database.ping);
  registerOpenApiRoute(api, { version: VERSION, serverUrl: config.baseUrl });

  const router = new Router();
  registerInteractionRoutes(router, { provider, accounts: deps.accounts, views, signIn: deps.signInHooks });
  registerStaticRoutes(router, deps.staticDir);
  registerHomeRoutes(router, { provider, accounts: deps.accounts, views, baseUrl: config.baseUrl, issuer: config.issuer });
  const nav = new AccountNav();
  const kit = createAccountPageKit(views, nav);
  for (const feature of deps.features) feature.register({ router, api, nav, kit, views });
  api.mount(router);

  app.use(requestContext(logger, config.accessLog));
  app.use(errorHandler(logger, views, config.baseUrl));
  app.use(securityHeaders({ hsts: config.baseUrl.startsWith('https://') }));
  app.use(databaseGate(deps.database.isConnected, ['/healthz', '/readyz', '/api/openapi.json', '/static/']));
  for (const m of deps.beforeProvider ?? []) app.use(m);
  app.use(mount('/api/oidc', provider));
  app.use(principalResolver(deps.authenticators));
  app.use(sameOriginGuard({ publicOrigin: new URL(config.baseUrl).origin, sessionCookie: SESSION_COOKIE }));
  app.use(requestBody({ limitBytes: config.bodyLimitBytes }));
  app.use(router.routes());
  app.use(router.allowedMethods({ throw: true }));
  return app;
}
