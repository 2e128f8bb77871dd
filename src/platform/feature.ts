/**
 * How a feature plugs in. Every feature folder's `index.ts` exports one `compose(platform, uses)`
 * that builds the feature's repositories and services and answers a `Composed`: the `Feature`
 * (everything the app and the provider take from it, in one shape) and what it provides to the
 * features composed after it. `src/compose.ts` lists the features in order.
 */
import type Router from '@koa/router';
import type { Middleware } from 'koa';
import type Provider from 'oidc-provider';
import type { ApiRegistry } from './http/api-registry.ts';
import type { AccountNav } from './pages/account-nav.ts';
import type { AccountPageKit } from './pages/account-page-kit.ts';
import type { Views } from './http/views.ts';
import type { Authenticator } from './auth/principal.ts';
import type { ProviderOptions } from './oidc/provider.ts';

/** What a feature gets to hook its routes into the app. */
export interface FeatureContext {
  router: Router;
  api: ApiRegistry;
  nav: AccountNav;
  kit: AccountPageKit;
  views: Views;
}

/** Everything a feature adds to Keyward; every part is optional. */
export interface Feature {
  name: string;
  /** Options added to the provider's configuration (read before the provider is built). */
  providerOptions?: ProviderOptions;
  /** Hooks on the provider once it is built: grant types, event listeners. */
  withProvider?(provider: Provider): void;
  /** Middleware in front of the provider's mount, in feature order. */
  beforeProvider?: Middleware[];
  /** Credential checkers for Keyward's own API, tried in feature order. */
  authenticators?: Authenticator[];
  /** Its HTTP routes, pages and REST API. */
  register?(f: FeatureContext): void;
  /** Removes the feature's expired rows; run periodically by the composition root. */
  sweep?(): Promise<unknown>;
  stop?(): Promise<void>;
}

/** A composed feature and the services it offers to features composed after it. */
export interface Composed<Provides = Record<string, never>> {
  feature: Feature;
  provides: Provides;
}
