/**
 * What an `enforce-mfa` policy does to existing API keys and CLI tokens: when it is switched on
 * for an organization (or the platform), credentials created without a second factor by members
 * who have not enrolled one are flagged and, when configured, suspended (refused until cleared).
 * The suspension lifts by itself once the member has a second factor: verification of a
 * suspended credential asks `hasSecondFactor` again (PersonalCredentialService.lookup).
 *
 * A disabled account needs nothing here: AccountService announces the revocation itself.
 */
import type { Logger } from '../../platform/logging/logger.ts';
import type { PersonalCredentialRepository } from './api-key-repository.ts';
import type { AuditService } from '../../platform/directory/audit-service.ts';
import { PLATFORM_SCOPE, type PolicyService } from '../../platform/directory/policy-service.ts';

export const ENFORCE_MFA = 'enforce-mfa';

export interface CredentialMfaEffectsDeps {
  policies: PolicyService;
  repo: PersonalCredentialRepository;
  audit: AuditService;
  logger: Logger;
  /** Account ids of an organization's members. */
  membersOf: (organizationId: string) => Promise<string[]>;
  /** Whether the account has an enabled second factor (from the MFA feature, when present). */
  hasSecondFactor?: (accountId: string) => Promise<boolean>;
  /** Suspend flagged credentials (otherwise they are only flagged). */
  suspend: boolean;
  /** Told once credentials were suspended (drops cached verifications in every process). */
  revocations: { announce(): Promise<void> };
}

export class CredentialMfaEffects {
  readonly #d: CredentialMfaEffectsDeps;

  constructor(deps: CredentialMfaEffectsDeps) {
    this.#d = deps;
    deps.policies.onChange(async ({ scope, name, value }) => {
      if (name !== ENFORCE_MFA || value !== true) return;
      // The policy is already stored; a failure here is logged, not turned into a failed policy change.
      await this.enforce(scope).catch((err: unknown) =>
        deps.logger.error(
          { event: 'credentials.mfa_enforce_failed', scope, error: String(err) },
          'flagging credentials failed',
        ),
      );
    });
  }

  /** Flags the credentials affected by enforcing MFA at `scope` (`platform` or `org:<id>`). */
  async enforce(scope: string): Promise<number> {
    const owners =
      scope === PLATFORM_SCOPE
        ? await this.#d.repo.ownersIn()
        : await this.#d.membersOf(scope.replace(/^org:/, ''));
    let count = 0;
    for (const accountId of owners) {
      if (await this.#d.hasSecondFactor?.(accountId)) continue;
      const flagged = await this.#d.repo.flagUnverified([accountId], ENFORCE_MFA, this.#d.suspend);
      if (!flagged) continue;
      count += flagged;
      await this.#d.audit.record({
        type: 'apikey.flagged',
        accountId,
        details: { policy: ENFORCE_MFA, credentials: flagged, suspended: this.#d.suspend },
      });
    }
    if (count > 0 && this.#d.suspend) await this.#d.revocations.announce();
    this.#d.logger.info(
      { event: 'credentials.mfa_enforced', scope, credentials: count, suspended: this.#d.suspend },
      'credentials flagged by enforce-mfa',
    );
    return count;
  }
}
