/**
 * Policies for SSH certificates (platform value wins over the organization's, else the default):
 * whether they are issued, their maximum validity, extra principals, extensions and the
 * source-address critical option. Extra principals are platform-admin only: every organization
 * shares Keyward's CA, so a principal granted by one organization's admin would open the servers
 * of every organization that trusts the CA.
 */
import { z } from 'zod';
import { STANDARD_EXTENSIONS, type StandardExtension } from './ssh-certificate.ts';
import { cidrListProblem, normalizeCidrList } from './cidr-list.ts';
import type { PolicyService } from '../../platform/directory/policy-service.ts';

export const POLICY_ENABLED = 'ssh-certificates-enabled';
export const POLICY_MAX_VALIDITY = 'ssh-certificate-max-validity-hours';
export const POLICY_PRINCIPALS = 'ssh-certificate-principals';
export const POLICY_EXTENSIONS = 'ssh-certificate-extensions';
export const POLICY_SOURCE_ADDRESS = 'ssh-certificate-source-address';

/** Hard ceiling, whatever a policy says. */
export const MAX_VALIDITY_HOURS = 24;
export const DEFAULT_VALIDITY_HOURS = 8;

/** What a principal may look like (a Unix user or role name: no spaces, commas or control characters). */
export const PRINCIPAL = /^[A-Za-z0-9_][A-Za-z0-9._@-]{0,63}$/;

export interface SshCertificateSettings {
  enabled: boolean;
  maxValidityHours: number;
  extraPrincipals: string[];
  extensions: StandardExtension[];
  sourceAddress?: string;
}

const unique = <T>(list: T[]) => new Set(list).size === list.length;

export function registerSshCertificatePolicies(policies: PolicyService): void {
  policies.register({
    name: POLICY_ENABLED,
    description:
      'true (default): members may get short-lived SSH certificates; false: issuance is refused.',
    schema: z.boolean(),
    defaultValue: true,
  });
  policies.register({
    name: POLICY_MAX_VALIDITY,
    description: `Maximum validity of an SSH certificate in hours, 1–${MAX_VALIDITY_HOURS} (default ${DEFAULT_VALIDITY_HOURS}).`,
    schema: z.number().int().min(1).max(MAX_VALIDITY_HOURS),
    defaultValue: DEFAULT_VALIDITY_HOURS,
  });
  policies.register({
    name: POLICY_PRINCIPALS,
    description:
      'Extra principals (Unix user or role names) added to every certificate, after the username. Platform admins only: the CA is shared by all organizations.',
    schema: z
      .array(
        z
          .string()
          .regex(
            PRINCIPAL,
            'each principal must be 1–64 letters, digits, ".", "_", "@" or "-", not starting with "." "-" or "@"',
          ),
      )
      .max(32)
      .refine(unique, 'principals must not repeat'),
    defaultValue: [],
    platformAdminOnly: true,
  });
  policies.register({
    name: POLICY_EXTENSIONS,
    description: `Certificate extensions granted, a subset of ${STANDARD_EXTENSIONS.join(', ')} (default: all of them, as ssh-keygen grants).`,
    schema: z.array(z.enum(STANDARD_EXTENSIONS)).refine(unique, 'extensions must not repeat'),
    defaultValue: [...STANDARD_EXTENSIONS],
  });
  policies.register({
    name: POLICY_SOURCE_ADDRESS,
    description:
      'Comma-separated CIDR list (e.g. "10.0.0.0/8,2001:db8::/32"): certificates carry the source-address critical option and work only from there.',
    schema: z
      .string()
      .max(2048)
      .superRefine((value, ctx) => {
        const problem = cidrListProblem(value);
        if (problem) ctx.addIssue({ code: 'custom', message: problem });
      }),
  });
}

/** The effective settings for an organization (or for users without one: platform values and defaults). */
export async function sshCertificateSettings(
  policies: PolicyService,
  organizationId: string | undefined,
): Promise<SshCertificateSettings> {
  const all = await policies.effectiveAll(organizationId);
  const value = <T>(name: string, fallback: T): T =>
    (all[name]?.value as T | undefined) ?? fallback;
  const source = value<string | undefined>(POLICY_SOURCE_ADDRESS, undefined);
  return {
    enabled: value(POLICY_ENABLED, true),
    maxValidityHours: Math.min(
      MAX_VALIDITY_HOURS,
      Math.max(1, value(POLICY_MAX_VALIDITY, DEFAULT_VALIDITY_HOURS)),
    ),
    extraPrincipals: value<string[]>(POLICY_PRINCIPALS, []),
    extensions: value<StandardExtension[]>(POLICY_EXTENSIONS, [...STANDARD_EXTENSIONS]),
    ...(source ? { sourceAddress: normalizeCidrList(source) } : {}),
  };
}
