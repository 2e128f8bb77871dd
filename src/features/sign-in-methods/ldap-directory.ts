/**
 * An organization's LDAP directory, with `ldapts`: a service bind (or anonymous) to find the
 * user's entry, then a bind as that entry with the password the user typed. ldaps:// or StartTLS
 * verify the server against the method's CA certificate (or the system's). The connection goes
 * to the address the SSRF guard checked, with the host name kept for TLS verification.
 */
import { isIP } from 'node:net';
import { Client, InvalidCredentialsError } from 'ldapts';
import type { ConnectionOptions } from 'node:tls';
import { AppError } from '../../platform/errors/app-error.ts';
import { resolvePermitted } from './address-guard.ts';

export interface LdapSettings {
  url: string;
  startTLS?: boolean;
  caCertificate?: string;
  bindDN?: string;
  baseDN: string;
  userFilter?: string;
  usernameAttribute?: string;
  emailAttribute?: string;
  externalIdAttribute?: string;
  displayNameAttribute?: string;
  allowPrivateAddress?: boolean;
}

export interface DirectoryUser {
  dn: string;
  attributes: Record<string, string>;
}

export const DEFAULT_USER_FILTER = '(|(uid={username})(mail={username}))';

/** RFC 4515 escaping of a value inside a search filter. */
export function escapeFilterValue(value: string): string {
  return value.replace(/[\\*()\0]/g, (c) => `\\${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

const unreachable = (url: string, err: unknown) => {
  const code = String((err as { code?: unknown }).code ?? '');
  if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ALTNAME/.test(code)) {
    return new AppError(
      'validation_failed',
      `The directory at ${url} has a TLS certificate Keyward does not trust (${code}); set caCertificate.`,
      { cause: err },
    );
  }
  return new AppError(
    'unavailable',
    `The directory at ${url} could not be used: ${err instanceof Error ? err.message : String(err)}`,
    { cause: err },
  );
};

async function connect(s: LdapSettings): Promise<Client> {
  const url = new URL(s.url);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const address = await resolvePermitted(host, s.allowPrivateAddress === true);
  const tlsOptions: ConnectionOptions = {
    ...(s.caCertificate ? { ca: s.caCertificate } : {}),
    ...(isIP(host) ? {} : { servername: host }),
    minVersion: 'TLSv1.2',
  };
  const port = url.port || (url.protocol === 'ldaps:' ? '636' : '389');
  const target = `${url.protocol}//${isIP(address) === 6 ? `[${address}]` : address}:${port}`;
  // ldapts speaks TLS from the start whenever it is given tlsOptions: only for ldaps://.
  const secure = url.protocol === 'ldaps:';
  const c = new Client({
    url: target,
    ...(secure ? { tlsOptions } : {}),
    connectTimeout: 5000,
    timeout: 10_000,
    strictDN: false,
  });
  if (s.startTLS && url.protocol === 'ldap:') {
    try {
      await c.startTLS(tlsOptions);
    } catch (err) {
      await c.unbind().catch(() => undefined);
      throw unreachable(s.url, err);
    }
  }
  return c;
}

const first = (v: unknown): string | undefined => {
  const x = Array.isArray(v) ? v[0] : v;
  return x === undefined ? undefined : Buffer.isBuffer(x) ? x.toString('utf8') : String(x);
};

/**
 * Finds the user's entry with the service account. Answers undefined when there is none (or more
 * than one: an ambiguous filter signs no one in).
 */
async function findUser(
  c: Client,
  s: LdapSettings,
  bindPassword: string | undefined,
  username: string,
): Promise<DirectoryUser | undefined> {
  try {
    if (s.bindDN) await c.bind(s.bindDN, bindPassword ?? '');
  } catch (err) {
    if (err instanceof InvalidCredentialsError)
      throw new AppError(
        'validation_failed',
        'The directory refused the service account (bindDN / bindPassword).',
      );
    throw unreachable(s.url, err);
  }
  // `||`, not `??`: a blank attribute (a form's empty field, or "" over REST) means the default, as in the service's mapping.
  const attributes = [
    s.usernameAttribute || 'uid',
    s.emailAttribute || 'mail',
    s.externalIdAttribute || 'entryUUID',
    s.displayNameAttribute || 'cn',
  ];
  const filter = (s.userFilter ?? DEFAULT_USER_FILTER).replaceAll(
    '{username}',
    escapeFilterValue(username),
  );
  let entries;
  try {
    ({ searchEntries: entries } = await c.search(s.baseDN, {
      scope: 'sub',
      filter,
      attributes,
      sizeLimit: 2,
    }));
  } catch (err) {
    if ((err as { code?: number }).code === 4) return undefined; // size limit: more than one entry
    throw unreachable(s.url, err);
  }
  if (entries.length !== 1) return undefined;
  const e = entries[0];
  return {
    dn: e.dn,
    attributes: Object.fromEntries(
      attributes.map((a) => [a, first((e as Record<string, unknown>)[a]) ?? '']),
    ),
  };
}

/** Proves the settings work: connect, TLS, service bind, and a search of the base DN. */
export async function testConnection(
  s: LdapSettings,
  bindPassword: string | undefined,
): Promise<void> {
  const c = await connect(s);
  try {
    await findUser(c, s, bindPassword, 'keyward-connection-test');
  } finally {
    await c.unbind().catch(() => undefined);
  }
}

/**
 * Checks the user's password with a bind as their entry. Answers the entry, or undefined for an
 * unknown user or a wrong password (the caller cannot tell which, and neither can the user).
 */
export async function authenticate(
  s: LdapSettings,
  bindPassword: string | undefined,
  username: string,
  password: string,
): Promise<DirectoryUser | undefined> {
  if (!password) return undefined; // an empty password would be an anonymous bind that "succeeds"
  const c = await connect(s);
  try {
    const user = await findUser(c, s, bindPassword, username);
    if (!user) return undefined;
    try {
      await c.bind(user.dn, password);
      return user;
    } catch (err) {
      if (err instanceof InvalidCredentialsError) return undefined;
      throw unreachable(s.url, err);
    }
  } finally {
    await c.unbind().catch(() => undefined);
  }
}
