/**
 * The kernel every feature is composed with: configuration, the database, keys, the identity
 * directory (accounts, organizations, policies, audit), the shared stores (once markers,
 * throttles, the change signal) and the provider. Built once by the composition root.
 */
import type Provider from 'oidc-provider';
import type { Config } from './config/schema.ts';
import type { Logger } from './logging/logger.ts';
import type { Connection } from './db/connect.ts';
import type { ServerKeys } from './crypto/server-keys.ts';
import type { AccountService } from './directory/account-service.ts';
import type { OrganizationService } from './directory/organization-service.ts';
import type { PolicyService } from './directory/policy-service.ts';
import type { AuditService } from './directory/audit-service.ts';
import type { AuditRepository } from './directory/audit-repository.ts';
import type { OnceMarkerRepository } from './store/once-marker-repository.ts';
import type { ReadThrough } from './store/read-through.ts';
import type { ChangeSignal } from './store/change-signal.ts';
import type { ThrottleService } from './throttle/throttle-service.ts';
import type { DpopProofs } from './auth/dpop-proof.ts';
import type { Views } from './http/views.ts';
import type { OidcPayloadRepository } from './oidc/oidc-payload-repository.ts';

export interface Platform {
  config: Config;
  logger: Logger;
  /** The clock every service uses (tests move it). */
  now: () => number;
  connection: Connection;
  keys: ServerKeys;
  accounts: AccountService;
  organizations: OrganizationService;
  policies: PolicyService;
  audit: AuditService;
  auditRepo: AuditRepository;
  /** Claims one-time values exactly once (once-marker-repository.ts). */
  once: OnceMarkerRepository;
  throttle: ThrottleService;
  /** Announces credential revocations and directory changes to every process (change-signal.ts). */
  revocations: ChangeSignal;
  /** The in-process directory cache, ended by `revocations`. */
  directory: ReadThrough;
  dpop: DpopProofs;
  views: Views;
  payloads: OidcPayloadRepository;
  /** The OIDC provider: usable once every feature is composed (late-provider.ts). */
  provider: Provider;
  /** Periodic work (sweeps, timers) runs; off for one-shot scripts. */
  sweeps: boolean;
}
