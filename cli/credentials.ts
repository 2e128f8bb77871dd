/**
 * The credentials file (contract §5.3): JSON with `currentIdentity` and `identities`, each
 * identity holding `token`/`apikey`, `server`, `name`, `canonicalName`, `organization` and the
 * opaque `oauth` sign-in state. Path: $KEYWARD_CREDENTIALS_FILE, else
 * $XDG_CONFIG_HOME/keyward/credentials (only if absolute), else ~/.config/keyward/credentials.
 * Directory 0700, file 0600, written atomically (temporary file, fsync, rename, fsync of the directory).
 * There is no keychain here, so the refresh token lives in `oauth.refreshToken`, protected by the file mode.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
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
}

export function credentialsPath(env: NodeJS.ProcessEnv): string {
  if (env.KEYWARD_CREDENTIALS_FILE) return env.KEYWARD_CREDENTIALS_FILE;
  const xdg = env.XDG_CONFIG_HOME;
  return join(xdg && isAbsolute(xdg) ? xdg : join(homedir(), '.config'), 'keyward', 'credentials');
}

/** A missing, empty or unparseable file has no identities (the last with a warning). */
export function readCredentials(path: string, warn: (msg: string) => void = () => undefined): CredentialsFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return { identities: {} };
  }
  if (!text.trim()) return { identities: {} };
  try {
    const data = JSON.parse(text) as Partial<CredentialsFile>;
    if (!data || typeof data !== 'object' || typeof data.identities !== 'object' || data.identities === null) throw new Error('no identities');
    return { currentIdentity: data.currentIdentity, identities: data.identities };
  } catch {
    warn(`warning: ignoring ${path}: it is not a valid credentials file.`);
    return { identities: {} };
  }
}

export function writeCredentials(path: string, data: CredentialsFile): void {
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
  renameSync(tmp, path);
  try {
    const dfd = openSync(dir, 'r');
    try { fsyncSync(dfd); } finally { closeSync(dfd); }
  } catch { /* some file systems cannot fsync a directory; the rename is still atomic */ }
}

/** The identity to use: --context, else $KEYWARD_CONTEXT, else the file's currentIdentity. */
export function selectIdentity(file: CredentialsFile, context: string | undefined): Identity | undefined {
  const name = context ?? file.currentIdentity;
  return name ? file.identities[name] : undefined;
}

/**
 * Stores an identity: by explicit name, else over the one with the same canonicalName, else
 * under its own name. More than one match on canonicalName is an error (contract §5.3).
 */
export function upsertIdentity(file: CredentialsFile, identity: Identity, explicitName?: string): string {
  let name = explicitName;
  if (!name && identity.canonicalName) {
    const matches = Object.entries(file.identities).filter(([, i]) => i.canonicalName === identity.canonicalName).map(([n]) => n);
    if (matches.length > 1) throw new CliError(`More than one context is signed in as ${identity.canonicalName} (${matches.join(', ')}); name one with --context.`, ExitCode.usage);
    name = matches[0];
  }
  name ??= identity.name;
  file.identities[name] = { ...identity, name };
  file.currentIdentity = name;
  return name;
}
