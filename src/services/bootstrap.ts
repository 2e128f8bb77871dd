import type { Logger } from '../logging/logger.ts';
import type { AccountService } from './account-service.ts';
import type { OrganizationService } from './organization-service.ts';

/** Creates the first organization and its admin on first start (KEYWARD_INITIAL_ADMIN_*), once. */
export async function bootstrapInitialAdmin(
  admin: { username: string; email: string; password: string; organization: string },
  deps: { accounts: AccountService; organizations: OrganizationService; logger: Logger },
): Promise<void> {
  if (await deps.accounts.findByLogin(admin.username)) return;
  const org = (await deps.organizations.findByName(admin.organization)) ?? await deps.organizations.create(admin.organization);
  const account = await deps.accounts.register({ username: admin.username, email: admin.email, password: admin.password, platformAdmin: true });
  await deps.organizations.addMember(org.id, account.id, { admin: true });
  deps.logger.info({ event: 'bootstrap.admin_created', username: admin.username, organization: org.name }, 'initial admin created');
}
