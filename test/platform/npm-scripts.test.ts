/**
 * `npm start` and `npm run admin` as a newcomer runs them, as real processes:
 * - SIGTERM to the `npm start` process stops Keyward itself (not only npm) and frees the port;
 * - with no MONGODB_URI and no mongod download possible, `npm start` falls back to the embedded
 *   FerretDB, says so in one log line naming its data directory, reaches /readyz, and stops the
 *   FerretDB it started; a later start stays on FerretDB and still names the first-start password file;
 * - SIGTERM while the embedded FerretDB is still starting ends Keyward and that FerretDB too;
 * - when neither mongod nor FerretDB can be had: exit 1 with a short message, no stack trace;
 * - `npm run admin -- --help` prints the usage; a wrong option is a one-line usage error.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { MongoClient } from 'mongodb';
import { databaseUri, freePort } from '../helpers/keyward.ts';
import { ferretDbBinaryPath } from '../../src/platform/db/embedded.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** The promise's value, or 'timeout' after `ms` (the timer does not outlive it). */
async function within<T>(p: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<'timeout'>((r) => {
    timer = setTimeout(() => r('timeout'), ms);
  });
  try {
    return await Promise.race([p, t]);
  } finally {
    clearTimeout(timer);
  }
}
const running = new Set<ChildProcess>();
const temp: string[] = [];
const dbNames: string[] = [];
/** Processes a failing test may leave behind (a stand-in FerretDB). */
const strays: number[] = [];
const tempDir = (prefix: string) => {
  const d = mkdtempSync(join(tmpdir(), prefix));
  temp.push(d);
  return d;
};

afterAll(async () => {
  for (const child of running) child.kill('SIGKILL');
  // An embedded FerretDB that a failed test's Keyward started (its pid file is in the test's data dir).
  for (const d of temp) {
    const pidFile = join(d, 'ferretdb', 'ferretdb.pid');
    if (existsSync(pidFile)) strays.push(Number(readFileSync(pidFile, 'utf8')));
  }
  for (const pid of strays) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  if (dbNames.length && process.env.MONGODB_URI) {
    const client = await MongoClient.connect(process.env.MONGODB_URI, {
      serverSelectionTimeoutMS: 3000,
    }).catch(() => undefined);
    for (const name of dbNames)
      await client
        ?.db(name)
        .dropDatabase()
        .catch(() => undefined);
    await client?.close();
  }
  for (const d of temp) rmSync(d, { recursive: true, force: true });
}, 30_000);

interface Npm {
  child: ChildProcess;
  out: () => string;
  exited: Promise<number | string>;
  hasExited: () => boolean;
}

/** `npm <args>` in the repository with exactly `env` (plus PATH), as a newcomer's shell would run it. */
function npm(args: string[], env: Record<string, string>): Npm {
  const child = spawn('npm', args, {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  let out = '';
  child.stdout!.on('data', (b: Buffer) => {
    out += b.toString();
  });
  child.stderr!.on('data', (b: Buffer) => {
    out += b.toString();
  });
  let done = false;
  const exited = new Promise<number | string>((resolve) =>
    child.once('close', (code, signal) => {
      done = true;
      running.delete(child);
      resolve(code ?? signal ?? 'unknown');
    }),
  );
  return { child, out: () => out, exited, hasExited: () => done };
}

/** The environment of a machine where mongodb-memory-server can neither find nor download a mongod. */
async function noMongod(): Promise<Record<string, string>> {
  return {
    MONGOMS_DOWNLOAD_DIR: tempDir('keyward-no-mongod-'),
    MONGOMS_DOWNLOAD_MIRROR: `https://127.0.0.1:${await freePort()}`,
  };
}

async function waitForReady(run: Npm, baseUrl: string, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline && !run.hasExited()) {
    const res = await fetch(`${baseUrl}/readyz`, { signal: AbortSignal.timeout(2000) }).catch(
      () => undefined,
    );
    if (res?.status === 200) return;
    await sleep(250);
  }
  throw new Error(
    `not ready at ${baseUrl} within ${ms} ms (exited: ${run.hasExited()}):\n${run.out()}`,
  );
}

/** Direct children of a process (from /proc, so no ps is needed). */
function childrenOf(pid: number): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .flatMap((d) => {
      try {
        const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid
          ? [Number(d)]
          : [];
      } catch {
        return [];
      }
    });
}
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const portOpen = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });

/** SIGTERM to the npm process only; answers once npm has exited, with the pids it had started. */
async function stopNpm(run: Npm, ms = 20_000): Promise<{ code: number | string; node: number[] }> {
  const node = childrenOf(run.child.pid!);
  run.child.kill('SIGTERM');
  const code = await within(run.exited, ms);
  return { code, node };
}

async function gone(pids: number[], ms = 15_000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline && pids.some(alive)) await sleep(100);
  return !pids.some(alive);
}

const jsonLines = (text: string) =>
  text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .flatMap((l) => {
      try {
        return [JSON.parse(l) as Record<string, unknown>];
      } catch {
        return [];
      }
    });

test('SIGTERM to the `npm start` process stops Keyward: the node process exits and the port is freed', async () => {
  const port = await freePort();
  const dbName = `kw_npmstart_${randomBytes(6).toString('hex')}`;
  dbNames.push(dbName);
  const run = npm(['start'], {
    PORT: String(port),
    KEYWARD_DATA_DIR: tempDir('keyward-npmstart-'),
    MONGODB_URI: databaseUri(dbName),
    HOME: process.env.HOME ?? '/root',
  });
  await waitForReady(run, `http://127.0.0.1:${port}`, 60_000);

  const { code, node } = await stopNpm(run);
  expect(node.length).toBeGreaterThan(0);
  expect(code).toBe(0);
  expect(await gone(node)).toBe(true);
  expect(await portOpen(port)).toBe(false);
  expect(jsonLines(run.out()).map((l) => l.event)).toContain('shutdown.done');
}, 90_000);

test('no MONGODB_URI and no mongod to be had: `npm start` runs on the embedded FerretDB, and stops it', async () => {
  const port = await freePort();
  const dataDir = tempDir('keyward-embedded-');
  const env = {
    PORT: String(port),
    KEYWARD_DATA_DIR: dataDir,
    HOME: process.env.HOME ?? '/root',
    ...(await noMongod()),
  };
  // The FerretDB binary is built once into ~/.cache/keyward (npm test does it first): allow for that build here too.
  const first = npm(['start'], env);
  await waitForReady(
    first,
    `http://127.0.0.1:${port}`,
    existsSync(ferretDbBinaryPath()) ? 60_000 : 400_000,
  );

  const embedded = jsonLines(first.out()).filter((l) => l.event === 'db.embedded');
  expect(embedded).toHaveLength(1);
  expect(embedded[0]).toMatchObject({
    server: 'FerretDB v1.24.2 (SQLite)',
    dataPath: join(dataDir, 'ferretdb'),
  });
  expect(embedded[0].msg).toBe(
    `embedded database: FerretDB v1.24.2 (SQLite), data in ${join(dataDir, 'ferretdb')} (no mongod could be had)`,
  );
  expect(first.out()).not.toContain('    at ');
  const passwordFile = join(dataDir, 'initial-admin-password');
  expect(first.out()).toContain(
    `First start: sign in as "admin" with the password in ${passwordFile}`,
  );

  const ferretPid = Number(readFileSync(join(dataDir, 'ferretdb', 'ferretdb.pid'), 'utf8'));
  expect(alive(ferretPid)).toBe(true);
  const stopped = await stopNpm(first);
  expect(stopped.code).toBe(0);
  expect(await gone([...stopped.node, ferretPid])).toBe(true);
  expect(existsSync(join(dataDir, 'ferretdb', 'ferretdb.pid'))).toBe(false);

  // Second start on the same data: straight to FerretDB (the data is there), and the password file is still named.
  const second = npm(['start'], env);
  await waitForReady(second, `http://127.0.0.1:${port}`, 60_000);
  expect(jsonLines(second.out()).find((l) => l.event === 'db.embedded')).toMatchObject({
    mongod: 'skipped: this data directory holds FerretDB data',
  });
  expect(second.out()).toContain(`Sign in as "admin" with the password in ${passwordFile}`);
  const login = await fetch(`http://127.0.0.1:${port}/api/oidc/.well-known/openid-configuration`);
  expect(login.status).toBe(200);
  const again = await stopNpm(second);
  expect(again.code).toBe(0);
  expect(await gone(again.node)).toBe(true);

  // Without the file (the admin changed the password and deleted it), the banner no longer points to it.
  rmSync(passwordFile);
  const third = npm(['start'], env);
  await waitForReady(third, `http://127.0.0.1:${port}`, 60_000);
  expect(third.out()).not.toContain('initial-admin-password');
  expect(third.out()).toContain('Sign in with a user created by `npm run admin -- create-user');
  expect((await stopNpm(third)).code).toBe(0);
}, 600_000);

test('SIGTERM while the embedded FerretDB is still starting: Keyward exits at once and stops it', async () => {
  // A stand-in FerretDB that never listens: it notes its pid and waits.
  const dir = tempDir('keyward-slow-ferretdb-');
  const fake = join(dir, 'ferretdb');
  const mark = join(dir, 'pid');
  writeFileSync(fake, `#!/bin/sh\necho $$ > ${mark}\nexec sleep 600\n`, { mode: 0o755 });
  const run = npm(['start'], {
    PORT: String(await freePort()),
    KEYWARD_DATA_DIR: tempDir('keyward-early-'),
    HOME: process.env.HOME ?? '/root',
    FERRETDB_BIN: fake,
    ...(await noMongod()),
  });
  const deadline = Date.now() + 60_000;
  while (!existsSync(mark) && Date.now() < deadline && !run.hasExited()) await sleep(100);
  expect(existsSync(mark)).toBe(true);
  const ferret = Number(readFileSync(mark, 'utf8'));
  strays.push(ferret);
  const { code, node } = await stopNpm(run, 10_000);
  expect(code).not.toBe('timeout');
  expect(await gone([...node, ferret], 5_000)).toBe(true);
}, 90_000);

test('neither mongod nor FerretDB to be had: a short message naming MONGODB_URI and scripts/ferretdb.sh, exit 1', async () => {
  // An empty HOME (no FerretDB in ~/.cache/keyward, empty Go caches) and no Go module proxy (or no Go): FerretDB cannot be built.
  const home = tempDir('keyward-bare-home-');
  const run = npm(['start'], {
    PORT: String(await freePort()),
    KEYWARD_DATA_DIR: tempDir('keyward-none-'),
    HOME: home,
    GOPROXY: 'off',
    ...(await noMongod()),
  });
  const code = await within(run.exited, 120_000);
  expect(code).toBe(1);
  const out = run.out();
  expect(out).toContain('MONGODB_URI is not set, and no embedded database could be started');
  expect(out).toMatch(
    /- mongod \(mongodb-memory-server\): Download failed for url "https:\/\/127\.0\.0\.1:\d+\/.*ECONNREFUSED/,
  );
  expect(out).toMatch(
    /- FerretDB v1\.24\.2: no binary at .*keyward-bare-home-.*\/\.cache\/keyward\/ferretdb-v1\.24\.2, and building it failed: (go mod download failed: .*GOPROXY=off|Go is required)/,
  );
  expect(out).toContain('bash scripts/ferretdb.sh start 27017 ./data/ferretdb');
  expect(out).toContain('MONGODB_URI=mongodb://127.0.0.1:27017/keyward npm start');
  expect(out).not.toContain('    at ');
  expect(out).not.toMatch(/DownloadError|Starting the MongoMemoryServer Instance failed/);
}, 150_000);

test('`npm run admin -- --help` prints the usage; an unknown option is a usage error without a stack trace', async () => {
  const env = { HOME: process.env.HOME ?? '/root', KEYWARD_DATA_DIR: tempDir('keyward-admin-') };
  const help = npm(['run', 'admin', '--', '--help'], env);
  expect(await help.exited).toBe(0);
  expect(help.out()).toContain('Usage: npm run admin -- <command> [options]');
  expect(help.out()).toContain('create-user --username U --email E');
  expect(help.out()).not.toContain('ERR_PARSE_ARGS');

  const wrong = npm(['run', 'admin', '--', 'list-users', '--frobnicate'], env);
  expect(await wrong.exited).toBe(2);
  expect(wrong.out()).toContain("error: Unknown option '--frobnicate'.");
  expect(wrong.out()).toContain('Usage: npm run admin');
  expect(wrong.out()).not.toContain('    at ');

  const unknown = npm(['run', 'admin', '--', 'make-coffee'], env);
  expect(await unknown.exited).toBe(2);
  expect(unknown.out()).toContain('error: unknown command "make-coffee".');
}, 60_000);
