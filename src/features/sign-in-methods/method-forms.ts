/**
 * The organization admin page's forms for OIDC and LDAP sign-in methods: which fields each form
 * has (in plain words, with short help), how the posted strings become the REST API's input
 * (`oidcInput` / `ldapInput` of schema.ts, so both edges validate alike), how a stored method
 * prefills the form (never its secrets), and at which field a service error belongs.
 */
import { z } from 'zod';
import { AppError, isAppError } from '../../platform/errors/app-error.ts';
import { DEFAULT_USER_FILTER } from './ldap-directory.ts';
import type { StoredMethod } from './sign-in-method-repository.ts';
import { ldapInput, oidcInput, TOKEN_AUTH_METHODS } from './schema.ts';

export type FormType = 'oidc' | 'ldap';
type Kind = 'text' | 'secret' | 'textarea' | 'secret-textarea' | 'checkbox' | 'select' | 'lines';
type Section = 'main' | 'endpoints' | 'advanced';

export interface FormField {
  name: string;
  label: string;
  help?: string;
  kind: Kind;
  section: Section;
  required?: boolean;
  placeholder?: string;
  options?: { value: string; label: string }[];
  /** Only platform admins see and may change it. */
  platformOnly?: boolean;
  /** Only when the method is created (its name cannot change). */
  createOnly?: boolean;
  /** Checked on a new form. */
  defaultOn?: boolean;
}

const NAME: FormField = {
  name: 'name',
  label: 'Name',
  kind: 'text',
  section: 'main',
  required: true,
  createOnly: true,
  placeholder: 'e.g. acme-sso',
  help: 'Lowercase letters, digits and dashes. Used in the API; it cannot be changed later.',
};
const DISPLAY: FormField = {
  name: 'displayName',
  label: 'Shown as',
  kind: 'text',
  section: 'main',
  help: 'The label of the sign-in button, e.g. "Acme SSO".',
};
const PRIVATE: FormField = {
  name: 'allowPrivateAddress',
  label: 'Allow private and local network addresses',
  kind: 'checkbox',
  section: 'advanced',
  platformOnly: true,
  help: 'Lets Keyward connect to addresses inside its own network (and to plain http:// identity providers). Platform administrators only.',
};
const TITLE_CASE: FormField = {
  name: 'titleCase',
  label: 'Title-case new usernames',
  kind: 'checkbox',
  section: 'advanced',
  help: 'e.g. "hank.hill" becomes "Hank.Hill".',
};
const JIT: FormField = {
  name: 'allowNewUserCreation',
  label: 'Create accounts at first sign-in',
  kind: 'checkbox',
  section: 'main',
  help: 'Off: only people whose identity an administrator has linked to an account can sign in.',
};

export const OIDC_FORM: FormField[] = [
  NAME,
  DISPLAY,
  {
    name: 'issuer',
    label: 'Issuer URL',
    kind: 'text',
    section: 'main',
    required: true,
    placeholder: 'https://login.example.com',
    help: "The identity provider's address; its settings are read from /.well-known/openid-configuration there.",
  },
  {
    name: 'discoverEndpoints',
    label: 'Discover the endpoints from the issuer',
    kind: 'checkbox',
    section: 'main',
    defaultOn: true,
    help: 'Turn off only for a provider without discovery; then fill in its endpoints below.',
  },
  {
    name: 'clientId',
    label: 'Client ID',
    kind: 'text',
    section: 'main',
    required: true,
    help: 'What the identity provider calls Keyward.',
  },
  {
    name: 'tokenEndpointAuthMethod',
    label: 'Client authentication',
    kind: 'select',
    section: 'main',
    options: [
      {
        value: 'client_secret_basic',
        label: 'Client secret, in the Authorization header (client_secret_basic)',
      },
      {
        value: 'client_secret_post',
        label: 'Client secret, in the request body (client_secret_post)',
      },
      { value: 'private_key_jwt', label: 'Signed with a private key (private_key_jwt)' },
    ],
  },
  {
    name: 'clientSecret',
    label: 'Client secret',
    kind: 'secret',
    section: 'main',
    help: 'For the two client-secret kinds of authentication.',
  },
  {
    name: 'privateKeyPEM',
    label: 'Private key (PEM)',
    kind: 'secret-textarea',
    section: 'main',
    help: 'For private_key_jwt: an RSA, P-256 or Ed25519 private key.',
  },
  {
    name: 'scopes',
    label: 'Scopes',
    kind: 'text',
    section: 'main',
    placeholder: 'openid email profile',
    help: 'Separated by spaces; openid is always asked for.',
  },
  JIT,
  {
    name: 'skipMfaVerification',
    label: "Trust the identity provider's MFA",
    kind: 'checkbox',
    section: 'main',
    help: 'On: Keyward asks for no second factor of its own after this sign-in, even where a policy requires MFA.',
  },
  {
    name: 'authorizationEndpoint',
    label: 'Authorization endpoint',
    kind: 'text',
    section: 'endpoints',
  },
  { name: 'tokenEndpoint', label: 'Token endpoint', kind: 'text', section: 'endpoints' },
  {
    name: 'jwksUri',
    label: "JWKS URI (the provider's signing keys)",
    kind: 'text',
    section: 'endpoints',
  },
  {
    name: 'userinfoEndpoint',
    label: 'Userinfo endpoint',
    kind: 'text',
    section: 'endpoints',
    help: 'Optional.',
  },
  {
    name: 'endSessionEndpoint',
    label: 'End-session endpoint',
    kind: 'text',
    section: 'endpoints',
    help: 'Optional.',
  },
  {
    name: 'usernameClaim',
    label: 'Username claim',
    kind: 'text',
    section: 'advanced',
    placeholder: 'username',
    help: 'Default: username (else the part of the email before the @).',
  },
  {
    name: 'emailClaim',
    label: 'Email claim',
    kind: 'text',
    section: 'advanced',
    placeholder: 'email',
  },
  {
    name: 'externalIdClaim',
    label: 'External id claim',
    kind: 'text',
    section: 'advanced',
    placeholder: 'sub',
    help: 'What links the identity to a Keyward account. Default: sub.',
  },
  { name: 'uidClaim', label: 'UID claim', kind: 'text', section: 'advanced', help: 'Optional.' },
  TITLE_CASE,
  {
    name: 'sectorIdentifierHostnames',
    label: 'Sector identifier host names',
    kind: 'lines',
    section: 'advanced',
    help: 'One host name a line: the redirect hosts the identity provider may see for pairwise identifiers.',
  },
  PRIVATE,
];

export const LDAP_FORM: FormField[] = [
  NAME,
  DISPLAY,
  {
    name: 'url',
    label: 'Directory URL',
    kind: 'text',
    section: 'main',
    required: true,
    placeholder: 'ldaps://ldap.example.com:636',
    help: 'ldaps://host[:port], or ldap://host[:port] with StartTLS.',
  },
  {
    name: 'startTLS',
    label: 'Use StartTLS',
    kind: 'checkbox',
    section: 'main',
    help: 'For ldap:// URLs: switch to TLS before sending any password.',
  },
  {
    name: 'caCertificate',
    label: 'CA certificate (PEM)',
    kind: 'textarea',
    section: 'main',
    help: "Only when the directory's certificate is not signed by a public authority.",
  },
  {
    name: 'bindDN',
    label: 'Bind DN (service account)',
    kind: 'text',
    section: 'main',
    placeholder: 'cn=keyward,ou=services,dc=example,dc=com',
    help: 'The account Keyward searches the directory with.',
  },
  { name: 'bindPassword', label: 'Bind password', kind: 'secret', section: 'main' },
  {
    name: 'baseDN',
    label: 'Base DN',
    kind: 'text',
    section: 'main',
    required: true,
    placeholder: 'dc=example,dc=com',
    help: 'Where people are searched for.',
  },
  {
    name: 'userFilter',
    label: 'User filter',
    kind: 'text',
    section: 'main',
    placeholder: DEFAULT_USER_FILTER,
    help: 'Must contain {username}. Blank: the default shown.',
  },
  JIT,
  {
    name: 'usernameAttribute',
    label: 'Username attribute',
    kind: 'text',
    section: 'advanced',
    placeholder: 'uid',
  },
  {
    name: 'emailAttribute',
    label: 'Email attribute',
    kind: 'text',
    section: 'advanced',
    placeholder: 'mail',
  },
  {
    name: 'externalIdAttribute',
    label: 'External id attribute',
    kind: 'text',
    section: 'advanced',
    placeholder: 'entryUUID',
    help: 'What links the entry to a Keyward account.',
  },
  {
    name: 'displayNameAttribute',
    label: 'Display name attribute',
    kind: 'text',
    section: 'advanced',
    placeholder: 'cn',
  },
  TITLE_CASE,
  PRIVATE,
];

export const FORMS: Record<FormType, FormField[]> = { oidc: OIDC_FORM, ldap: LDAP_FORM };
export const SECRET_FIELDS = ['clientSecret', 'privateKeyPEM', 'bindPassword'];
const isSecret = (f: FormField) => f.kind === 'secret' || f.kind === 'secret-textarea';

/** The form values of a stored method (secrets blank), or of a new one. */
export function formValues(type: FormType, m?: StoredMethod): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of FORMS[type]) {
    const v = m
      ? f.name === 'name'
        ? m.name
        : f.name === 'displayName'
          ? m.displayName
          : m.settings[f.name]
      : undefined;
    if (isSecret(f)) out[f.name] = '';
    else if (f.kind === 'checkbox')
      out[f.name] = (
        m ? v === true || (f.name === 'discoverEndpoints' && v !== false) : f.defaultOn
      )
        ? 'on'
        : '';
    else if (f.kind === 'lines') out[f.name] = Array.isArray(v) ? v.join('\n') : '';
    else out[f.name] = typeof v === 'string' ? v : '';
  }
  if (!m && type === 'oidc')
    Object.assign(out, {
      scopes: 'openid email profile',
      tokenEndpointAuthMethod: TOKEN_AUTH_METHODS[0],
    });
  return out;
}

/** The label of a field, for messages. */
export const labelOf = (type: FormType, name: string) =>
  FORMS[type].find((f) => f.name === name)?.label ?? name;

/**
 * The posted strings as the REST API's input: checkboxes are booleans, blank secrets are absent
 * (on an edit: keep the stored one), a blank LDAP user filter is the default, and only a platform
 * admin's form says anything about private addresses.
 */
function toInput(
  type: FormType,
  body: Record<string, unknown>,
  editing: boolean,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const text = (k: string) =>
    typeof body[k] === 'string' ? (body[k] as string).replace(/\r\n/g, '\n').trim() : '';
  for (const f of FORMS[type]) {
    if (f.createOnly && editing) continue;
    if (f.platformOnly) {
      if (text(`${f.name}Shown`)) out[f.name] = text(f.name) !== '';
    } else if (f.kind === 'checkbox') out[f.name] = text(f.name) !== '';
    else if (isSecret(f)) {
      if (text(f.name)) out[f.name] = text(f.name);
    } else if (f.kind === 'lines') out[f.name] = text(f.name).split(/\s+/).filter(Boolean);
    else if (f.name === 'userFilter') {
      if (text(f.name) || editing) out[f.name] = text(f.name) || DEFAULT_USER_FILTER;
    } else out[f.name] = text(f.name);
  }
  if (type === 'ldap' && !out.bindDN) delete out.bindDN;
  return out;
}

/** A zod schema of the posted form: the REST schema's rules, with messages that name the field in plain words. */
export function formSchema(type: FormType, editing: boolean) {
  const rest = type === 'oidc' ? oidcInput : ldapInput;
  const schema = editing ? rest.partial() : rest;
  return z.record(z.string(), z.unknown()).transform((body, ctx) => {
    const parsed = schema.safeParse(toInput(type, body, editing));
    if (parsed.success) return parsed.data as Record<string, unknown>;
    for (const issue of parsed.error.issues) {
      const name = String(issue.path[0] ?? '');
      const blank = issue.code === 'too_small' && (issue as { minimum?: unknown }).minimum === 1;
      const message = blank
        ? `${labelOf(type, name)} is required.`
        : issue.code === 'custom' || issue.code === 'invalid_format'
          ? `${labelOf(type, name)} ${issue.message.replace(/^Invalid.*$/, 'is not valid')}.`
          : `${labelOf(type, name)}: ${issue.message}`;
      ctx.addIssue({ code: 'custom', message, path: issue.path });
    }
    return z.NEVER;
  });
}

/** Messages whose field is not the first one they name (and their wording on the page). */
const AT_FIELD: [RegExp, string, string?][] = [
  [
    /refused the service account/,
    'bindPassword',
    'The directory refused the service account: check the bind DN and the bind password.',
  ],
  [/TLS certificate/, 'caCertificate'],
  [/could not be used|private or local address|Cannot resolve|must use https/, 'url'],
  [/already (exists|in use)|duplicate|E11000/i, 'name'],
];

/**
 * A service error as a form error at its field: the REST messages name fields as the API does
 * (`clientSecret`), the form by their labels; a directory that cannot be reached is the URL's
 * problem (400 there, not a 503 page).
 */
export function atField(type: FormType, err: unknown): unknown {
  if (!isAppError(err)) return err;
  const names = FORMS[type].map((f) => f.name).sort((a, b) => b.length - a.length);
  const at = (n: string) => err.message.search(new RegExp(`(^|[\\s(])${n}\\b`));
  const known = AT_FIELD.find(([re]) => re.test(err.message));
  // Else the field the message is about: the first one it names.
  let field: string | undefined =
    known?.[1] ?? names.filter((n) => at(n) >= 0).sort((a, b) => at(a) - at(b))[0];
  if (field === 'url' && type === 'oidc') field = 'issuer';
  let message = known?.[2] ?? err.message;
  for (const n of names) {
    message = message.replace(
      new RegExp(`(^|[\\s(])${n}\\b`, 'g'),
      (_m, pre: string) => `${pre}${pre ? labelOf(type, n).toLowerCase() : labelOf(type, n)}`,
    );
  }
  const code = err.code === 'unavailable' ? 'validation_failed' : err.code;
  if (!field && code === err.code && message === err.message) return err;
  return new AppError(code, message, {
    params: err.params,
    fieldErrors: field ? [{ type: 'field', code: 'invalid', pointer: `#/${field}` }] : [],
    cause: err,
  });
}
