/** Security events: who, what, when, from where, outcome. Never secrets. */
import type { AuditEvent, AuditRepository } from './audit-repository.ts';
import type { Logger } from '../logging/logger.ts';
import type { OrganizationService } from './organization-service.ts';

export interface RequestInfo {
  ip?: string;
  userAgent?: string;
}

export interface AuditInput {
  type: string;
  outcome?: 'success' | 'failure';
  accountId?: string;
  actorId?: string;
  request?: RequestInfo;
  details?: Record<string, string | number | boolean>;
}

export class AuditService {
  readonly #repo: AuditRepository;
  readonly #orgs: OrganizationService;
  readonly #logger: Logger;
  readonly #now: () => number;

  constructor(deps: {
    repo: AuditRepository;
    organizations: OrganizationService;
    logger: Logger;
    now: () => number;
  }) {
    this.#repo = deps.repo;
    this.#orgs = deps.organizations;
    this.#logger = deps.logger;
    this.#now = deps.now;
  }

  async record(input: AuditInput): Promise<AuditEvent> {
    const organizationIds = input.accountId
      ? (await this.#orgs.membershipsOf(input.accountId)).map((m) => m.organization.id)
      : [];
    const event = await this.#repo.insert({
      type: input.type,
      outcome: input.outcome ?? 'success',
      at: new Date(this.#now()),
      accountId: input.accountId,
      actorId: input.actorId,
      organizationIds,
      ip: input.request?.ip,
      userAgent: input.request?.userAgent?.slice(0, 300),
      details: input.details ?? {},
    });
    this.#logger.info(
      {
        event: 'audit',
        type: event.type,
        outcome: event.outcome,
        accountId: event.accountId,
        actorId: event.actorId,
      },
      'audit event',
    );
    return event;
  }

  forAccount(accountId: string, limit = 50, before?: Date): Promise<AuditEvent[]> {
    return this.#repo.list({ accountId }, Math.min(limit, 200), before);
  }

  forOrganization(organizationId: string, limit = 50, before?: Date): Promise<AuditEvent[]> {
    return this.#repo.list({ organizationId }, Math.min(limit, 200), before);
  }
}
