/**
 * What the organizations' policies ask of a member's sign-in (the strictest over all of the
 * member's organizations): `enforce-mfa` (a second factor), `enforce-webauthn-mfa`
 * (`hardware` | `fips`: a security key), with an optional enrolment grace period.
 */
import { z } from 'zod';
import type { OrganizationService } from '../../platform/directory/organization-service.ts';
import type { PolicyService } from '../../platform/directory/policy-service.ts';

export interface MfaRequirement {
  /** A second factor is required to sign in. */
  enforced: boolean;
  /** Only security keys satisfy it (and at which level). */
  webauthnLevel?: 'hardware' | 'fips';
  /** Until when a member without a factor may still skip enrolment. */
  graceUntil?: Date;
  /** `enforce-mfa` itself is on (not only `enforce-webauthn-mfa`, from which federated sign-ins are exempt). */
  secondFactorPolicy?: boolean;
}

export function registerMfaPolicies(policies: PolicyService): void {
  policies.register({
    name: 'enforce-mfa',
    description: 'true: members must use a second factor to sign in.',
    schema: z.boolean(),
    defaultValue: false,
    platformAdminOnly: true,
  });
  policies.register({
    name: 'enforce-webauthn-mfa',
    description:
      'One of "hardware" or "fips": members must use a security key. Federated (OIDC) sign-ins are exempt.',
    schema: z.enum(['hardware', 'fips']),
  });
  policies.register({
    name: 'mfa-grace-period-hours',
    description: 'Hours (0–720) after enforce-mfa is set during which members may skip enrolment.',
    schema: z.number().int().min(0).max(720),
    defaultValue: 0,
  });
}

export async function mfaRequirement(
  accountId: string,
  deps: { policies: PolicyService; organizations: OrganizationService },
): Promise<MfaRequirement> {
  const memberships = await deps.organizations.membershipsOf(accountId);
  const scopes = memberships.length ? memberships.map((m) => m.organization.id) : [undefined];
  const out: MfaRequirement = { enforced: false };
  const graces: (Date | undefined)[] = [];
  for (const orgId of scopes) {
    const p = await deps.policies.effectiveAll(orgId);
    const level = p['enforce-webauthn-mfa']?.value as 'hardware' | 'fips' | undefined;
    if (level) out.webauthnLevel = out.webauthnLevel === 'fips' ? 'fips' : level;
    if (p['enforce-mfa']?.value === true) out.secondFactorPolicy = true;
    if (p['enforce-mfa']?.value !== true && !level) continue;
    out.enforced = true;
    const hours = Number(p['mfa-grace-period-hours']?.value ?? 0);
    const since = p['enforce-mfa']?.updatedAt ?? p['enforce-webauthn-mfa']?.updatedAt;
    graces.push(hours > 0 && since ? new Date(since.getTime() + hours * 3600_000) : undefined);
  }
  // The strictest organization decides: no grace if any enforcing organization gives none.
  if (graces.length && graces.every((g) => g))
    out.graceUntil = new Date(Math.min(...graces.map((g) => g!.getTime())));
  return out;
}
