/**
 * The organization page's policies in words, grouped by subject (the documentation's Sign-in
 * security, API keys and tokens, CLI sign-in, SSH certificates). Each entry says how its form field
 * reads and writes the policy value; policies registered by features not listed here still appear,
 * under "Other", by their raw names.
 */
export type PolicyControl =
  | { kind: 'bool' }
  | { kind: 'enum'; options: { value: string; label: string }[] }
  | { kind: 'int'; unit: string; zero?: string }
  | { kind: 'list' }
  | { kind: 'text' };

export interface PolicyEntry {
  name: string;
  label: string;
  help: string;
  control: PolicyControl;
}
export interface PolicyGroup {
  id: string;
  title: string;
  policies: PolicyEntry[];
}

export const POLICY_GROUPS: PolicyGroup[] = [
  {
    id: 'sign-in',
    title: 'Sign-in security',
    policies: [
      {
        name: 'enforce-mfa',
        label: 'Enforce MFA',
        help: 'Members must use a second factor (app or security key) to sign in.',
        control: { kind: 'bool' },
      },
      {
        name: 'enforce-webauthn-mfa',
        label: 'Enforce Security Key MFA',
        help: 'Only security keys count as a second factor. Federated (OIDC) sign-ins are exempt.',
        control: {
          kind: 'enum',
          options: [
            { value: 'hardware', label: 'Enabled: any security key' },
            { value: 'fips', label: 'Enabled: FIPS-certified security keys' },
          ],
        },
      },
      {
        name: 'mfa-grace-period-hours',
        label: 'Enrolment grace period',
        help: 'How long members may still skip enrolment after MFA is enforced.',
        control: { kind: 'int', unit: 'hours' },
      },
    ],
  },
  {
    id: 'api-keys',
    title: 'API keys and tokens',
    policies: [
      {
        name: 'max-api-key-ttl',
        label: 'Maximum API key lifetime',
        help: 'The longest an API key may live.',
        control: { kind: 'int', unit: 'days', zero: 'Unlimited' },
      },
      {
        name: 'api-key-expiry-choice',
        label: 'Users choose the expiration',
        help: "Members pick each key's and token's expiration themselves.",
        control: { kind: 'bool' },
      },
      {
        name: 'cli-token-ttl',
        label: 'CLI token lifetime',
        help: 'Lifetime of a CLI token when none is chosen (1–24 hours).',
        control: { kind: 'int', unit: 'hours' },
      },
    ],
  },
  {
    id: 'cli',
    title: 'CLI sign-in',
    policies: [
      {
        name: 'disable-device-login',
        label: 'Disable sign-in with a device code',
        help: 'The CLI must sign in through the browser instead.',
        control: { kind: 'bool' },
      },
    ],
  },
  {
    id: 'ssh',
    title: 'SSH certificates',
    policies: [
      {
        name: 'ssh-certificates-enabled',
        label: 'SSH certificates',
        help: 'Members may get short-lived SSH certificates.',
        control: { kind: 'bool' },
      },
      {
        name: 'ssh-certificate-max-validity-hours',
        label: 'Maximum certificate validity',
        help: 'How long a certificate works.',
        control: { kind: 'int', unit: 'hours' },
      },
      {
        name: 'ssh-certificate-extensions',
        label: 'Extensions granted',
        help: 'Comma-separated, e.g. permit-pty, permit-port-forwarding.',
        control: { kind: 'list' },
      },
      {
        name: 'ssh-certificate-source-address',
        label: 'Allowed source addresses',
        help: 'Comma-separated CIDR ranges certificates work from.',
        control: { kind: 'text' },
      },
      {
        name: 'ssh-certificate-principals',
        label: 'Extra principals',
        help: 'Unix user or role names added to every certificate.',
        control: { kind: 'list' },
      },
    ],
  },
];

/** How a value reads on the page: Enabled / Disabled / Not set, or the value with its unit. */
export function describeValue(control: PolicyControl, value: unknown): string {
  if (value === undefined || value === null) return 'Not set';
  if (control.kind === 'bool' || typeof value === 'boolean')
    return value === true ? 'Enabled' : 'Disabled';
  if (control.kind === 'enum')
    return control.options.find((o) => o.value === value)?.label ?? String(value);
  if (control.kind === 'int')
    return value === 0 && control.zero ? control.zero : `${String(value)} ${control.unit}`;
  if (Array.isArray(value)) return value.length ? value.join(', ') : 'None';
  return String(value);
}

/** The value for a form field's text ("" → Not set, answered as undefined). */
export function formToValue(control: PolicyControl, raw: string): unknown {
  const text = raw.trim();
  if (text === '') return undefined;
  if (control.kind === 'bool') return text === 'true' ? true : text === 'false' ? false : text;
  if (control.kind === 'int') return /^-?\d+$/.test(text) ? Number(text) : text;
  if (control.kind === 'list') return text.split(/[\s,]+/).filter(Boolean);
  return text;
}

/** The form field's text for a stored value. */
export function valueToForm(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (Array.isArray(value)) return value.join(', ');
  return String(value);
}
