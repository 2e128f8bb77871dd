/**
 * The credentials file (contract §5.3): JSON with `currentIdentity` and `identities`, each
 * identity holding `token`/`apikey`, `server`, `name`, `canonicalName`, `organization` and the
 * opaque `oauth` sign-in state. It is the platform's file, shared with its SDKs (which find a
 * `keyward auth login` with no settings) and with other contexts: fields this CLI does not know
 * are kept as they are. Directory 0700, file 0600, written atomically (temporary file, fsync,
 * rename, fsync of the directory). There is no keychain here, so the refresh token lives in
 * `oauth.refreshToken`, protected by the file mode.
 */
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  existsSync,
  fsyncSync,
  linkSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';
import { CliError, ExitCode } from './errors.ts';

export interface OAuthState {
  clientId: string;
  /** When `token` expires (RFC 3339). */
  expiresAt: string;
  refreshToken?: string;
  scope?: string;
  deviceName?: string;
}

export interface Identity {
  apikey?: string;
  token?: string;
  server: string;
  name: string;
  canonicalName?: string;
  organization?: string;
  oauth?: OAuthState;
}

export interface CredentialsFile {
  currentIdentity?: string;
  identities: Record<string, Identity>;
  /** Top-level fields written by other tools, kept as they are. */
  [other: string]: unknown;
}

const home = (env: NodeJS.ProcessEnv) => env.HOME || homedir();
/** $XDG_CONFIG_HOME when it is absolute (as the SDKs read it), else ~/.config. */
const configHome = (env: NodeJS.ProcessEnv) =>
  env.XDG_CONFIG_HOME && isAbsolute(env.XDG_CONFIG_HOME)
    ? env.XDG_CONFIG_HOME
    : join(home(env), '.config');

/**
 * Where the SDKs look (contract §5.3): $PW_CREDENTIALS_DIR/.credentials, else
 * $XDG_CONFIG_HOME/pw/credentials, else ~/.config/pw/credentials. $KEYWARD_CREDENTIALS_FILE
 * overrides all three, for the CLI only (the SDKs do not read it).
 */
export function credentialsPath(env: NodeJS.ProcessEnv): string {
  if (env.KEYWARD_CREDENTIALS_FILE) return env.KEYWARD_CREDENTIALS_FILE;
  if (env.PW_CREDENTIALS_DIR) return join(env.PW_CREDENTIALS_DIR, '.credentials');
  return join(configHome(env), 'pw', 'credentials');
}

/** Where this CLI kept its sign-ins before it used the platform's file. */
export const keywardLegacyPath = (env: NodeJS.ProcessEnv) =>
  join(configHome(env), 'keyward', 'credentials');
/** The platform's older location, which the SDKs still read when the file above is missing. */
export const platformLegacyPath = (env: NodeJS.ProcessEnv) => join(home(env), 'pw', '.credentials');

/**
 * When the contract's file does not exist yet (and no directory or file was named), seeds it from
 * the older files: this CLI's ~/.config/keyward/credentials, which is then removed (its refresh
 * tokens would only go stale there), and the platform's ~/pw/.credentials, which is left as it is.
 * The new file is created only if it still does not exist (a hard link of a complete temporary
 * file), so concurrent runs migrate once and never overwrite a newer sign-in. Answers a notice.
 */
export function migrateLegacyCredentials(
  env: NodeJS.ProcessEnv,
  warn: (msg: string) => void,
): string | undefined {
  if (env.KEYWARD_CREDENTIALS_FILE || env.PW_CREDENTIALS_DIR) return undefined;
  const target = credentialsPath(env);
  if (existsSync(target)) return undefined;
  const ours = keywardLegacyPath(env);
  const platform = platformLegacyPath(env);
  const sources = [platform, ours].filter((p) => existsSync(p));
  if (!sources.length) return undefined;
  const merged: CredentialsFile = { identities: {} };
  for (const source of sources) {
    const file = readCredentials(source, warn);
    Object.assign(merged, file, { identities: { ...merged.identities, ...file.identities } });
    merged.currentIdentity = file.currentIdentity ?? merged.currentIdentity;
  }
  if (!writeCredentials(target, merged, { exclusive: true })) return undefined;
  if (sources.includes(ours)) {
    rmSync(ours, { force: true });
    return `keyward: moved your sign-ins from ${ours} to ${target}, where the platform's SDKs find them.`;
  }
  return `keyward: copied the contexts of ${platform} to ${target}.`;
}

/** A missing, empty or unparseable file has no identities (the last with a warning). */
export function readCredentials(
  path: string,
  warn: (msg: string) => void = () => undefined,
): CredentialsFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return { identities: {} };
  }
  if (!text.trim()) return { identities: {} };
  try {
    const data = JSON.parse(text) as Partial<CredentialsFile>;
    if (
      !data ||
      typeof data !== 'object' ||
      typeof data.identities !== 'object' ||
      data.identities === null
    )
      throw new Error('no identities');
    return { ...data, currentIdentity: data.currentIdentity, identities: data.identities };
  } catch {
    warn(`warning: ignoring ${path}: it is not a valid credentials file.`);
    return { identities: {} };
  }
}

/**
 * Writes the file atomically. With `exclusive`, only when it does not exist yet: answers false
 * (and writes nothing) if another process created it first.
 */
export function writeCredentials(
  path: string,
  data: CredentialsFile,
  opts: { exclusive?: boolean } = {},
): boolean {
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  const tmp = join(dir, `.credentials.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const fd = openSync(tmp, 'wx', 0o600);
  try {
    writeSync(fd, `${JSON.stringify(data, null, 2)}\n`);
    fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw err;
  }
  closeSync(fd);
  if (opts.exclusive) {
    try {
      linkSync(tmp, path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      return false;
    } finally {
      rmSync(tmp, { force: true });
    }
  } else {
    renameSync(tmp, path);
  }
  try {
    const dfd = openSync(dir, 'r');
    try {
      fsyncSync(dfd);
    } finally {
      closeSync(dfd);
    }
  } catch {
    /* some file systems cannot fsync a directory; the rename is still atomic */
  }
  return true;
}

/** The identity to use: --context (else $KEYWARD_CONTEXT or $PW_CONTEXT), else the file's currentIdentity. */
export function selectIdentity(
  file: CredentialsFile,
  context: string | undefined,
): Identity | undefined {
  const name = context ?? file.currentIdentity;
  return name ? file.identities[name] : undefined;
}

/**
 * Stores an identity: by explicit name, else over the one with the same canonicalName, else
 * under its own name. More than one match on canonicalName is an error (contract §5.3).
 */
export function upsertIdentity(
  file: CredentialsFile,
  identity: Identity,
  explicitName?: string,
): string {
  let name = explicitName;
  if (!name && identity.canonicalName) {
    const matches = Object.entries(file.identities)
      .filter(([, i]) => i.canonicalName === identity.canonicalName)
      .map(([n]) => n);
    if (matches.length > 1)
      throw new CliError(
        `More than one context is signed in as ${identity.canonicalName} (${matches.join(', ')}); name one with --context.`,
        ExitCode.usage,
      );
    name = matches[0];
  }
  name ??= identity.name;
  file.identities[name] = { ...identity, name };
  file.currentIdentity = name;
  return name;
}
