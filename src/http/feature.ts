import type Router from '@koa/router';
import type { ApiRegistry } from './api-registry.ts';
import type { AccountNav } from './account-nav.ts';
import type { AccountPageKit } from './routes/account-routes.ts';
import type { Views } from './views.ts';

/** What a feature gets to hook itself into the app. */
export interface FeatureContext { router: Router; api: ApiRegistry; nav: AccountNav; kit: AccountPageKit; views: Views }

/** A feature: its HTTP routes, pages and REST API, registered at app creation. */
export interface Feature { name: string; register(f: FeatureContext): void }
