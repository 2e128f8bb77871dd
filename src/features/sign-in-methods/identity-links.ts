/**
 * The links from an external identity (method, external id) to a member's account: listing a
 * person's, and an admin linking or unlinking one by hand. Each change is audited.
 */
import { AppError } from '../../platform/errors/app-error.ts';
import type { Account } from '../../platform/directory/account-repository.ts';
import type { Organization } from '../../platform/directory/organization-repository.ts';
import type { AccountService } from '../../platform/directory/account-service.ts';
import type { OrganizationService } from '../../platform/directory/organization-service.ts';
import type { AuditService, RequestInfo } from '../../platform/directory/audit-service.ts';
import type {
  ExternalIdentity,
  SignInMethodRepository,
  StoredMethod,
} from './sign-in-method-repository.ts';
import type { Actor, SignInMethodService } from './sign-in-method-service.ts';

export interface IdentityLinksDeps {
  repo: SignInMethodRepository;
  methods: SignInMethodService;
  accounts: AccountService;
  organizations: OrganizationService;
  audit: AuditService;
}

export class IdentityLinks {
  readonly #d: IdentityLinksDeps;

  constructor(deps: IdentityLinksDeps) {
    this.#d = deps;
  }

  /** An account's external identities, with the method they belong to. */
  async linksOf(accountId: string): Promise<{ link: ExternalIdentity; method: StoredMethod }[]> {
    const out = [];
    for (const link of await this.#d.repo.linksOf(accountId)) {
      const method = await this.#d.repo.findById(link.methodId);
      if (method) out.push({ link, method });
    }
    return out;
  }

  async link(
    org: Organization,
    username: string,
    methodName: string,
    externalId: string,
    actor: Actor,
    request?: RequestInfo,
  ): Promise<void> {
    const m = await this.#d.methods.require(org, methodName);
    if (m.type === 'password')
      throw new AppError('validation_failed', 'Only OIDC and LDAP identities can be linked.');
    const account = await this.memberOf(org, username);
    if (
      !(await this.#d.repo.link({
        methodId: m.id,
        externalId,
        accountId: account.id,
        organizationId: org.id,
        createdBy: actor.id,
      }))
    ) {
      throw new AppError(
        'conflict',
        `The ${m.name} identity "${externalId}" is already linked to an account.`,
      );
    }
    await this.#d.audit.record({
      type: 'external_identity.linked',
      accountId: account.id,
      actorId: actor.id,
      request,
      details: { organization: org.name, method: m.name, externalId },
    });
  }

  async unlink(
    org: Organization,
    username: string,
    methodName: string,
    externalId: string,
    actor: Actor,
    request?: RequestInfo,
  ): Promise<void> {
    const m = await this.#d.methods.require(org, methodName);
    const account = await this.memberOf(org, username);
    const link = await this.#d.repo.findLink(m.id, externalId);
    if (!link || link.accountId !== account.id)
      throw new AppError('not_found', `${username} has no ${m.name} identity "${externalId}".`);
    await this.#d.repo.unlink(m.id, externalId);
    await this.#d.audit.record({
      type: 'external_identity.unlinked',
      accountId: account.id,
      actorId: actor.id,
      request,
      details: { organization: org.name, method: m.name, externalId },
    });
  }

  async memberOf(org: Organization, username: string): Promise<Account> {
    const account = await this.#d.accounts.findByLogin(username);
    if (
      !account ||
      !(await this.#d.organizations.membershipsOf(account.id)).some(
        (x) => x.organization.id === org.id,
      )
    ) {
      throw new AppError('not_found', `No member "${username}" in organization "${org.name}".`);
    }
    return account;
  }
}
