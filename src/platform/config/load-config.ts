/**
 * The only module that reads process.env. Defaults come from config/default.json, an optional JSON
 * file (KEYWARD_CONFIG_FILE) overrides them, environment variables override both. Everything is
 * validated with one schema; the first problem found is reported naming the variable to fix.
 */
import { PROVIDER_MOUNT } from '../oidc/provider-mount.ts';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { configSchema, type Config } from './schema.ts';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

type Env = Record<string, string | undefined>;

/** Environment variable → dotted config path. */
export const ENV_VARS: ReadonlyArray<readonly [string, string]> = [
  ['NODE_ENV', 'env'],
  ['KEYWARD_HOST', 'host'],
  ['PORT', 'port'],
  ['KEYWARD_PUBLIC_URL', 'publicUrl'],
  ['KEYWARD_TRUST_PROXY', 'trustProxy'],
  ['MONGODB_URI', 'mongodbUri'],
  ['KEYWARD_DATA_DIR', 'dataDir'],
  ['FERRETDB_BIN', 'ferretdbBin'],
  ['KEYWARD_COOKIE_KEYS', 'cookieKeys'],
  ['KEYWARD_ENCRYPTION_KEY', 'encryptionKeys'],
  ['KEYWARD_LOG_LEVEL', 'logLevel'],
  ['KEYWARD_ACCESS_LOG', 'accessLog'],
  ['KEYWARD_WORKERS', 'workers'],
  ['KEYWARD_SWEEPS', 'sweeps'],
  ['KEYWARD_CLIENTS', 'clients'],
  ['KEYWARD_AUTHORIZED_KEYS_SECRET', 'sshKeys.authorizedKeysSecret'],
  ['KEYWARD_AUTHORIZED_KEYS_PUBLIC', 'sshKeys.authorizedKeysPublic'],
  ['KEYWARD_ACCESS_TOKEN_TTL_SECONDS', 'ttl.accessTokenSeconds'],
  ['KEYWARD_INITIAL_ADMIN_USERNAME', 'initialAdmin.username'],
  ['KEYWARD_INITIAL_ADMIN_EMAIL', 'initialAdmin.email'],
  ['KEYWARD_INITIAL_ADMIN_PASSWORD', 'initialAdmin.password'],
  ['KEYWARD_INITIAL_ORGANIZATION', 'initialAdmin.organization'],
];

const DEFAULTS_FILE = fileURLToPath(new URL('../../../config/default.json', import.meta.url));

type Tree = Record<string, unknown>;

function readJson(file: string, label: string): Tree {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Tree;
  } catch (err) {
    throw new ConfigError(`${label}: cannot read ${file}: ${(err as Error).message}`);
  }
}

function setPath(tree: Tree, path: string, value: unknown): void {
  const keys = path.split('.');
  let node = tree;
  for (const key of keys.slice(0, -1)) {
    node[key] =
      typeof node[key] === 'object' && node[key] !== null ? { ...(node[key] as Tree) } : {};
    node = node[key] as Tree;
  }
  node[keys[keys.length - 1]] = value;
}

function deepMerge(base: Tree, over: Tree): Tree {
  const out: Tree = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] =
      v &&
      typeof v === 'object' &&
      !Array.isArray(v) &&
      b &&
      typeof b === 'object' &&
      !Array.isArray(b)
        ? deepMerge(b as Tree, v as Tree)
        : v;
  }
  return out;
}

const DEV_SECRET = /^dev-only-/;

function productionProblems(config: Config): string[] {
  const problems: string[] = [];
  if (!config.cookieKeys)
    problems.push(
      'KEYWARD_COOKIE_KEYS is required in production (comma-separated, each at least 32 characters)',
    );
  else if (config.cookieKeys.some((k) => k.length < 32))
    problems.push('KEYWARD_COOKIE_KEYS: every key must be at least 32 characters in production');
  if (!config.encryptionKeys)
    problems.push(
      'KEYWARD_ENCRYPTION_KEY is required in production (32 random bytes, base64: `openssl rand -base64 32`)',
    );
  if (!config.publicUrl)
    problems.push(
      'KEYWARD_PUBLIC_URL is required in production (the https URL users reach Keyward at)',
    );
  else if (!config.publicUrl.startsWith('https://'))
    problems.push('KEYWARD_PUBLIC_URL must use https in production');
  if (!config.mongodbUri)
    problems.push(
      'MONGODB_URI is required in production (the embedded database is for development)',
    );
  for (const c of config.clients) {
    if (c.client_secret && (c.client_secret.length < 32 || DEV_SECRET.test(c.client_secret))) {
      problems.push(
        `KEYWARD_CLIENTS: client "${c.client_id}" has a weak or development client_secret (need 32+ random characters)`,
      );
    }
  }
  const akSecret = config.sshKeys.authorizedKeysSecret;
  if (
    akSecret &&
    (akSecret.length < 32 || DEV_SECRET.test(akSecret) || new Set(akSecret).size < 10)
  ) {
    problems.push(
      'KEYWARD_AUTHORIZED_KEYS_SECRET is weak: use 32+ random characters (`openssl rand -base64 32`)',
    );
  }
  if (config.initialAdmin && config.initialAdmin.password.length < config.password.minLength) {
    problems.push(
      `KEYWARD_INITIAL_ADMIN_PASSWORD must be at least ${config.password.minLength} characters`,
    );
  }
  return problems;
}

/** Loads, merges and validates configuration. `overrides` (for tests and scripts) win over everything. */
export function loadConfig(env: Env, overrides: Tree = {}): Config {
  let tree = readJson(DEFAULTS_FILE, 'config/default.json');
  const origin = new Map<string, string>();
  if (env.KEYWARD_CONFIG_FILE)
    tree = deepMerge(tree, readJson(env.KEYWARD_CONFIG_FILE, 'KEYWARD_CONFIG_FILE'));
  for (const [name, path] of ENV_VARS) {
    const value = env[name];
    if (value === undefined || (value === '' && name !== 'KEYWARD_TRUST_PROXY')) continue;
    setPath(tree, path, value);
    origin.set(path, name);
  }
  tree = deepMerge(tree, overrides);

  const parsed = configSchema.safeParse(tree);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue.path.join('.');
    const top = issue.path.length > 0 ? String(issue.path[0]) : '';
    const name =
      origin.get(path) ??
      origin.get(top) ??
      [...origin.entries()].find(([p]) => path.startsWith(`${p}.`))?.[1] ??
      (env.KEYWARD_CONFIG_FILE
        ? `${path} (in ${env.KEYWARD_CONFIG_FILE})`
        : `${path} (in config/default.json)`);
    const got =
      origin.has(path) && !/SECRET|PASSWORD|KEY/.test(name)
        ? ` (got ${JSON.stringify(env[name])})`
        : '';
    throw new ConfigError(`Invalid configuration: ${name} ${issue.message}${got}`);
  }
  const data = parsed.data;
  const baseUrl = (data.publicUrl ?? `http://localhost:${data.port}`).replace(/\/+$/, '');
  const config: Config = { ...data, baseUrl, issuer: `${baseUrl}${PROVIDER_MOUNT}` };
  if (config.env === 'production') {
    const problems = productionProblems(config);
    if (problems.length)
      throw new ConfigError(`Refusing to start in production:\n  - ${problems.join('\n  - ')}`);
  }
  return config;
}

/** Convenience for entry points: reads the process environment. */
export function loadConfigFromProcess(overrides: Tree = {}): Config {
  return loadConfig(process.env, overrides);
}
