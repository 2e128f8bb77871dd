import { AppError } from '../errors/app-error.ts';
import {
  ORG_ADMIN,
  type Organization,
  type OrganizationRepository,
} from './organization-repository.ts';

const ORG_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;

export interface OrganizationMembership {
  organization: Organization;
  roles: string[];
  admin: boolean;
}

export class OrganizationService {
  readonly #repo: OrganizationRepository;
  constructor(repo: OrganizationRepository) {
    this.#repo = repo;
  }

  async create(name: string, displayName?: string): Promise<Organization> {
    const slug = name.trim().toLowerCase();
    if (!ORG_NAME.test(slug))
      throw new AppError(
        'validation_failed',
        'Organization name must be 1–63 lowercase letters, digits or dashes.',
      );
    return this.#repo.create(slug, displayName?.trim() || name);
  }

  async findById(id: string): Promise<Organization | undefined> {
    return this.#repo.findById(id);
  }

  async requireByName(name: string): Promise<Organization> {
    const org = await this.#repo.findByName(name);
    if (!org) throw new AppError('not_found', `No organization "${name}".`);
    return org;
  }

  findByName(name: string): Promise<Organization | undefined> {
    return this.#repo.findByName(name);
  }

  async addMember(
    organizationId: string,
    accountId: string,
    { admin = false } = {},
  ): Promise<void> {
    await this.#repo.upsertMembership(organizationId, accountId, admin ? [ORG_ADMIN] : []);
  }

  /**
   * The organization, when `account` may administer it (org:admin member or platform admin).
   * Non-members get 404 (the organization's existence is not revealed); members without the role 403.
   */
  async requireAdmin(
    name: string,
    account: { id: string; platformAdmin: boolean },
  ): Promise<Organization> {
    const org = await this.#repo.findByName(name);
    if (org && account.platformAdmin) return org;
    const membership = org
      ? (await this.#repo.membershipsOf(account.id)).find((m) => m.organizationId === org.id)
      : undefined;
    if (!org || !membership) throw new AppError('not_found', `No organization "${name}".`);
    if (!membership.roles.includes(ORG_ADMIN))
      throw new AppError('forbidden', `Only administrators of "${org.name}" can do this.`);
    return org;
  }

  /** Organizations the account administers. */
  async administeredBy(accountId: string): Promise<Organization[]> {
    return (await this.membershipsOf(accountId)).filter((m) => m.admin).map((m) => m.organization);
  }

  /** Account ids and roles of an organization's members. */
  async members(organizationId: string): Promise<{ accountId: string; admin: boolean }[]> {
    return (await this.#repo.membersOf(organizationId)).map((m) => ({
      accountId: m.accountId,
      admin: m.roles.includes(ORG_ADMIN),
    }));
  }

  /** The account's first organization (its primary one), if any. */
  async primaryOf(accountId: string): Promise<OrganizationMembership | undefined> {
    return (await this.membershipsOf(accountId))[0];
  }

  /** The account's organizations, the first one joined first (its primary organization). */
  async membershipsOf(accountId: string): Promise<OrganizationMembership[]> {
    const out: OrganizationMembership[] = [];
    for (const m of await this.#repo.membershipsOf(accountId)) {
      const organization = await this.#repo.findById(m.organizationId);
      if (organization)
        out.push({ organization, roles: m.roles, admin: m.roles.includes(ORG_ADMIN) });
    }
    return out;
  }
}
