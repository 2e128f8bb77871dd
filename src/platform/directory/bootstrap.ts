import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Logger } from '../logging/logger.ts';
import type { AccountService } from './account-service.ts';
import type { OrganizationService } from './organization-service.ts';

/** Creates the first organization and its admin on first start (KEYWARD_INITIAL_ADMIN_*), once. */
export async function bootstrapInitialAdmin(
  admin: { username: string; email: string; password: string; organization: string },
  deps: { accounts: AccountService; organizations: OrganizationService; logger: Logger },
): Promise<void> {
  if (await deps.accounts.findByLogin(admin.username)) return;
  const org =
    (await deps.organizations.findByName(admin.organization)) ??
    (await deps.organizations.create(admin.organization));
  const account = await deps.accounts.register({
    username: admin.username,
    email: admin.email,
    password: admin.password,
    platformAdmin: true,
  });
  await deps.organizations.addMember(org.id, account.id, { admin: true });
  deps.logger.info(
    { event: 'bootstrap.admin_created', username: admin.username, organization: org.name },
    'initial admin created',
  );
}

/** Where the development admin's first password is written (and looked for on later starts). */
export const initialAdminPasswordFile = (dataDir: string) =>
  resolve(dataDir, 'initial-admin-password');

/**
 * Development convenience: on a first start with no users (and no KEYWARD_INITIAL_ADMIN_*),
 * creates `admin` in organization `default` with a random password written to
 * `<dataDir>/initial-admin-password` (mode 0600) — never to the logs. Answers the file path.
 */
export async function createDevelopmentAdmin(
  dataDir: string,
  deps: { accounts: AccountService; organizations: OrganizationService; logger: Logger },
): Promise<string | undefined> {
  if ((await deps.accounts.count()) > 0) return undefined;
  const password = randomBytes(18).toString('base64url');
  const file = initialAdminPasswordFile(dataDir);
  await bootstrapInitialAdmin(
    { username: 'admin', email: 'admin@localhost.localdomain', password, organization: 'default' },
    deps,
  );
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${password}\n`, { mode: 0o600 });
  return file;
}
