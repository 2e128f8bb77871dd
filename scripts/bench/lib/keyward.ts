/**
 * Keyward as the benchmark runs it: from a checkout directory (two checkouts can be compared in
 * one run), as `npm start` does (`node src/main.ts` with that checkout's node_modules/.bin/node),
 * configured through environment variables only. Users are created with the checkout's own
 * `scripts/admin.ts create-user`, the API key through the sign-in pages and POST /api/apikeys:
 * nothing here imports Keyward's code, so it works for any checkout with the same HTTP surface.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import {
  freePort,
  httpOk,
  memoryMiB,
  safeExec,
  startProcess,
  stopProcess,
  waitUntil,
  type Started,
} from './processes.ts';
import { Browser, signInThroughForm } from './browser.ts';
import { BENCH_PASSWORD, CALLBACK, type IdpTarget } from './targets.ts';

const run = promisify(execFile);

export interface KeywardCheckout {
  dir: string;
  /** `<folder> <short commit>[+dirty]`. */
  label: string;
  node: string;
  nodeVersion: string;
  /** argon2 settings from the checkout's config/default.json. */
  argon2: string;
}

export function describeCheckout(dir: string, fallbackNode: string): KeywardCheckout {
  if (!existsSync(join(dir, 'src', 'main.ts')))
    throw new Error(`--keyward-dir ${dir}: no src/main.ts there`);
  const own = join(dir, 'node_modules', '.bin', 'node');
  const node = existsSync(own) ? own : fallbackNode;
  const commit = safeExec('git', ['-C', dir, 'rev-parse', '--short', 'HEAD']) || 'no-git';
  const dirty = safeExec('git', ['-C', dir, 'status', '--porcelain', '--untracked-files=no'])
    ? '+dirty'
    : '';
  let argon2 = 'unknown';
  try {
    const a = (
      JSON.parse(readFileSync(join(dir, 'config', 'default.json'), 'utf8')) as {
        argon2?: Record<string, number>;
      }
    ).argon2;
    if (a)
      argon2 = `argon2id m=${a.memoryKiB} KiB (${(a.memoryKiB / 1024).toFixed(0)} MiB), t=${a.passes}, p=${a.parallelism}`;
  } catch {
    /* keep unknown */
  }
  return {
    dir,
    label: `${basename(dir)}@${commit}${dirty}`,
    node,
    nodeVersion: safeExec(node, ['--version']),
    argon2,
  };
}

export interface KeywardOptions {
  checkout: KeywardCheckout;
  mongoUri: string;
  logDir: string;
  users: string[];
  /** KEYWARD_LOG_LEVEL, or undefined for the configuration's default. */
  logLevel?: string;
  logName: string;
  /** Extra node flags (e.g. --cpu-prof). */
  nodeFlags?: string[];
}

const secret = () => randomBytes(24).toString('base64url');

export interface RunningKeyward extends IdpTarget {
  process: Started;
  env: NodeJS.ProcessEnv;
}

/** Starts Keyward (timed from spawn to a 200 from /readyz); creates users and an API key unless `bare`. */
export async function startKeyward(o: KeywardOptions, bare = false): Promise<RunningKeyward> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const clients = {
    cc: { id: 'bench-cc', secret: secret() },
    rs: { id: 'bench-rs', secret: secret() },
    web: { id: 'bench-web', secret: secret() },
  };
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PORT: String(port),
    KEYWARD_HOST: '127.0.0.1',
    KEYWARD_PUBLIC_URL: base,
    MONGODB_URI: o.mongoUri,
    // Inside the run's log folder, which the benchmark removes at the end.
    KEYWARD_DATA_DIR: mkdtempSync(join(o.logDir, `${o.logName}-data-`)),
    KEYWARD_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    KEYWARD_COOKIE_KEYS: `${secret()}${secret()},${secret()}${secret()}`,
    KEYWARD_INITIAL_ADMIN_USERNAME: 'bench-admin',
    KEYWARD_INITIAL_ADMIN_EMAIL: 'bench-admin@example.com',
    KEYWARD_INITIAL_ADMIN_PASSWORD: `${secret()}${secret()}`,
    KEYWARD_INITIAL_ORGANIZATION: 'bench',
    KEYWARD_CLIENTS: JSON.stringify([
      {
        client_id: clients.cc.id,
        client_secret: clients.cc.secret,
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
      },
      {
        client_id: clients.rs.id,
        client_secret: clients.rs.secret,
        grant_types: [],
        response_types: [],
        redirect_uris: [],
        resourceServer: true,
      },
      {
        client_id: clients.web.id,
        client_secret: clients.web.secret,
        redirect_uris: [CALLBACK],
        grant_types: ['authorization_code'],
        scope: 'openid profile email',
        firstParty: true,
      },
    ]),
  };
  delete env.NODE_ENV;
  delete env.KEYWARD_CONFIG_FILE;
  if (o.logLevel) env.KEYWARD_LOG_LEVEL = o.logLevel;
  else delete env.KEYWARD_LOG_LEVEL;
  const p = startProcess(
    o.checkout.node,
    ['--disable-warning=ExperimentalWarning', ...(o.nodeFlags ?? []), 'src/main.ts'],
    { cwd: o.checkout.dir, env, logFile: join(o.logDir, `${o.logName}.log`) },
  );
  let startMs: number;
  try {
    startMs = await waitUntil(httpOk(`${base}/readyz`), 'Keyward', 120000, p, 25);
  } catch (err) {
    await stopProcess(p);
    throw err;
  }
  const target: RunningKeyward = {
    name: `Keyward ${o.checkout.label}`,
    process: p,
    pid: p.pid,
    env,
    startMs,
    baseUrl: base,
    tokenUrl: `${base}/api/oidc/token`,
    introspectionUrl: `${base}/api/oidc/introspect`,
    authorizeUrl: `${base}/api/oidc/authorize`,
    clients,
    users: o.users,
    memory: () => memoryMiB(p.pid),
    stop: () => stopProcess(p),
  };
  if (bare) return target;
  try {
    await createUsers(o, env);
    target.rest = { url: `${base}/api/auth/whoami`, authorization: await apiKey(base, o.users[0]) };
  } catch (err) {
    await stopProcess(p);
    throw err;
  }
  return target;
}

/** `scripts/admin.ts create-user` of the checkout, two at a time (each hashes a password). */
async function createUsers(o: KeywardOptions, env: NodeJS.ProcessEnv): Promise<void> {
  const queue = [...o.users];
  const worker = async () => {
    for (let u = queue.shift(); u; u = queue.shift()) {
      await run(
        o.checkout.node,
        [
          '--disable-warning=ExperimentalWarning',
          'scripts/admin.ts',
          'create-user',
          '--username',
          u,
          '--email',
          `${u}@example.com`,
          '--name',
          `Bench ${u}`,
          '--org',
          'bench',
        ],
        { cwd: o.checkout.dir, env: { ...env, KEYWARD_ADMIN_PASSWORD: BENCH_PASSWORD } },
      );
    }
  };
  await Promise.all([worker(), worker()]);
}

/** Signs in through Keyward's own pages and creates an API key; answers the Basic authorization. */
async function apiKey(base: string, username: string): Promise<string> {
  const browser = new Browser();
  const callback = await signInThroughForm(
    browser,
    `${base}/signin`,
    username,
    BENCH_PASSWORD,
    `${base}/signin/callback`,
  );
  const done = await browser.fetch(callback);
  await done.body?.cancel();
  const res = await browser.fetch(`${base}/api/apikeys`, {
    method: 'POST',
    body: JSON.stringify({ title: 'bench' }),
    headers: { 'content-type': 'application/json', accept: 'application/json' },
  });
  const body = (await res.json()) as { key?: string };
  if (!body.key)
    throw new Error(`POST /api/apikeys answered ${res.status}: ${JSON.stringify(body)}`);
  return `Basic ${Buffer.from(`${body.key}:`).toString('base64')}`;
}
