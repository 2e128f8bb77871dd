/**
 * Passwordless accounts (issue 16, item 6): with at least one passkey a person may remove their
 * password, unless one of their organizations sets `require-password`. The password is replaced
 * by the hash of a random secret nobody knows, so a password sign-in then fails exactly like a
 * wrong password (same work, same answer, same throttling: no account enumeration). Setting a
 * password again ends it. The last passkey of a passwordless account cannot be removed.
 */
import { z } from 'zod';
import { AppError } from '../../platform/errors/app-error.ts';
import type { Account } from '../../platform/directory/account-repository.ts';
import type { MfaFactor } from '../mfa/mfa-factor-repository.ts';
import type { AccountService } from '../../platform/directory/account-service.ts';
import type { AuditService, RequestInfo } from '../../platform/directory/audit-service.ts';
import type { OrganizationService } from '../../platform/directory/organization-service.ts';
import type { PolicyService } from '../../platform/directory/policy-service.ts';
import type { PasswordlessRepository } from './passwordless-repository.ts';
import { isPasskey } from './passkey-service.ts';

export const REQUIRE_PASSWORD = 'require-password';

export function registerPasswordPolicy(policies: PolicyService): void {
  policies.register({
    name: REQUIRE_PASSWORD,
    description:
      'true: members must keep a password (they cannot become passwordless with passkeys).',
    schema: z.boolean(),
    defaultValue: false,
  });
}

export interface PasswordlessDeps {
  repo: PasswordlessRepository;
  accounts: AccountService;
  policies: PolicyService;
  organizations: OrganizationService;
  audit: AuditService;
  passkeys(accountId: string): Promise<MfaFactor[]>;
  /** The hash of a fresh random secret (the password hasher's own format and cost). */
  unusableHash(): Promise<string>;
  setPasswordHash(accountId: string, hash: string): Promise<boolean>;
  now: () => number;
}

export class PasswordlessService {
  readonly #d: PasswordlessDeps;
  constructor(deps: PasswordlessDeps) {
    this.#d = deps;
  }

  async isPasswordless(account: Account): Promise<boolean> {
    const hash = await this.#d.repo.unusableHashOf(account.id);
    return !!hash && hash === account.passwordHash;
  }

  /** Whether an organization of the account (or the platform) requires members to keep a password. */
  async passwordRequired(accountId: string): Promise<boolean> {
    const memberships = await this.#d.organizations.membershipsOf(accountId);
    const scopes = memberships.length ? memberships.map((m) => m.organization.id) : [undefined];
    for (const orgId of scopes) {
      if ((await this.#d.policies.effective<boolean>(REQUIRE_PASSWORD, orgId)) === true)
        return true;
    }
    return false;
  }

  async removePassword(account: Account, request: RequestInfo): Promise<void> {
    if (await this.isPasswordless(account))
      throw new AppError('conflict', 'Your account has no password already.');
    if ((await this.#d.passkeys(account.id)).length === 0) {
      throw new AppError(
        'invalid_request',
        'Add a passkey first: without a password you sign in with a passkey.',
      );
    }
    if (await this.passwordRequired(account.id)) {
      throw new AppError(
        'forbidden',
        'Your organization requires a password (policy require-password): it cannot be removed.',
      );
    }
    const hash = await this.#d.unusableHash();
    await this.#d.repo.record(account.id, hash, new Date(this.#d.now()));
    await this.#d.setPasswordHash(account.id, hash);
    await this.#d.audit.record({ type: 'password.removed', accountId: account.id, request });
  }

  /** Sets a password on a passwordless account (changing an existing one is not this feature's). */
  async addPassword(account: Account, password: string, request: RequestInfo): Promise<void> {
    if (!(await this.isPasswordless(account)))
      throw new AppError('conflict', 'Your account already has a password.');
    await this.#d.accounts.setPassword(account.username, password);
    await this.#d.repo.forget(account.id);
    await this.#d.audit.record({ type: 'password.added', accountId: account.id, request });
  }

  /** For MfaService.guardRemoval: a passwordless account keeps at least one passkey. */
  async removalVeto(accountId: string, remaining: MfaFactor[]): Promise<string | undefined> {
    const account = await this.#d.accounts.findById(accountId);
    if (!account || !(await this.isPasswordless(account)) || remaining.some(isPasskey))
      return undefined;
    return 'Your account has no password: keep at least one passkey, or set a password first.';
  }
}
