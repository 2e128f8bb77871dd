/**
 * Security events in words a user reads (`mfa.otp` → "Authenticator app verified"), each in a kind
 * the Security events page filters by. The raw type stays available for support and the REST API.
 */
export type EventKind = 'sign-in' | 'mfa' | 'keys' | 'ssh' | 'apps' | 'admin' | 'profile' | 'other';

export const EVENT_KINDS: { value: EventKind; label: string }[] = [
  { value: 'sign-in', label: 'Sign-in and verification' },
  { value: 'mfa', label: '2-Step Verification changes' },
  { value: 'keys', label: 'API keys and tokens' },
  { value: 'ssh', label: 'SSH keys and certificates' },
  { value: 'apps', label: 'Apps and devices' },
  { value: 'admin', label: 'Administration' },
  { value: 'profile', label: 'Profile' },
  { value: 'other', label: 'Other' },
];

const WORDS: Record<string, [EventKind, string, string?]> = {
  // [kind, success wording, failure wording]
  'mfa.otp': ['sign-in', 'Authenticator app verified', 'Wrong authenticator code'],
  'mfa.recovery': ['sign-in', 'Recovery code used to verify', 'Wrong recovery code'],
  'mfa.webauthn': ['sign-in', 'Security key verified', 'Security key not accepted'],
  'mfa.otp_setup': [
    'mfa',
    'Authenticator app code checked during setup',
    'Wrong code during authenticator setup',
  ],
  'mfa.factor_added': ['mfa', 'Second factor added'],
  'mfa.factor_removed': ['mfa', 'Second factor removed'],
  'mfa.disabled': ['mfa', '2-Step Verification turned off'],
  'mfa.admin_reset': ['mfa', '2-Step Verification reset by an administrator'],
  'mfa.recovery_code_used': ['sign-in', 'Recovery code used'],
  'mfa.recovery_codes_generated': ['mfa', 'New recovery codes created'],
  'sessions.revoked_others': ['sign-in', 'Other sessions signed out'],
  'apikey.created': ['keys', 'API key added'],
  'apikey.deleted': ['keys', 'API key deleted'],
  'apikey.revoked': ['keys', 'API key revoked (reported as leaked)'],
  'apikey.flagged': ['keys', 'API key flagged by a policy'],
  'token.created': ['keys', 'CLI token created'],
  'token.deleted': ['keys', 'CLI token deleted'],
  'token.revoked': ['keys', 'CLI token revoked (reported as leaked)'],
  'ssh-key.created': ['ssh', 'SSH key added'],
  'ssh-key.deleted': ['ssh', 'SSH key deleted'],
  'ssh-private-key.created': ['ssh', 'SSH private key stored'],
  'ssh-private-key.deleted': ['ssh', 'SSH private key deleted'],
  'ssh-private-key.retrieved': ['ssh', 'SSH private key retrieved by the platform'],
  'ssh-private-key.signed': ['ssh', 'SSH private key used to sign'],
  'ssh-private-key.use-refused': ['ssh', 'Use of an SSH private key refused'],
  'ssh_certificate.issued': ['ssh', 'SSH certificate issued'],
  'ssh_certificate.refused': ['ssh', 'SSH certificate refused'],
  'ssh_certificate.revoked': ['ssh', 'SSH certificate revoked'],
  'oidc.app_disconnected': ['apps', 'App disconnected'],
  'oidc.device_signed_out': ['apps', 'Device signed out'],
  'device.approved': ['apps', 'CLI sign-in approved'],
  'device.denied': ['apps', 'CLI sign-in denied'],
  'device.refused': ['apps', 'CLI sign-in refused'],
  'device.code_locked': ['apps', 'CLI sign-in code locked after wrong attempts'],
  'policy.set': ['admin', 'Organization policy set'],
  'policy.cleared': ['admin', 'Organization policy cleared'],
  'account.profile_updated': ['profile', 'Profile updated'],
};

/** Detail keys worth showing, in words. */
const DETAIL_LABELS: Record<string, string> = {
  name: 'Name',
  factor: 'Factor',
  client: 'App',
  device: 'Device',
  organization: 'Organization',
  policy: 'Policy',
  value: 'Value',
  count: 'Number',
  key: 'Key',
  reason: 'Reason',
  expiresAt: 'Expires',
  via: 'Using',
};

/** An ISO timestamp in a detail reads as "2026-01-31 14:05 UTC". */
const readable = (v: string) =>
  /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(v) ? `${v.slice(0, 10)} ${v.slice(11, 16)} UTC` : v;

export interface WordedEvent {
  kind: EventKind;
  text: string;
  failed: boolean;
  details: { label: string; value: string }[];
}

export function wordEvent(e: {
  type: string;
  outcome: 'success' | 'failure';
  details?: Record<string, unknown>;
}): WordedEvent {
  const known = WORDS[e.type];
  const failed = e.outcome === 'failure';
  const fallback = e.type.replace(/[._-]+/g, ' ').replace(/^\w/, (c) => c.toUpperCase());
  const text = known
    ? failed
      ? (known[2] ?? `${known[1]} (failed)`)
      : known[1]
    : `${fallback}${failed ? ' (failed)' : ''}`;
  const details = Object.entries(e.details ?? {})
    .filter(([k]) => DETAIL_LABELS[k])
    .map(([k, v]) => ({
      label: DETAIL_LABELS[k],
      value: v === 'never' ? 'Never' : readable(String(v)),
    }));
  return { kind: known?.[0] ?? 'other', text, failed, details };
}
