/**
 * The real entry point (`node src/main.ts`) as a child process: it starts, serves, stops cleanly on
 * SIGTERM (exit code 0, `shutdown.done` logged), never prints the encryption key, and refuses to
 * start on bad configuration or an unreachable database with a one-line reason and exit code 1.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type Socket } from 'node:net';
import { databaseUri, freePort } from '../helpers/keyward.ts';
import { fileURLToPath } from 'node:url';
import { MongoClient } from 'mongodb';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Node that runs .ts directly: the one running jest, else the project's own (node_modules/.bin/node). */
function nodeBinary(): string {
  const major = Number(process.versions.node.split('.')[0]);
  const local = `${ROOT}node_modules/.bin/node`;
  return major >= 24 || !existsSync(local) ? process.execPath : local;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Run {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** Resolves with the exit code (or the signal name) once the process has exited. */
  exited: Promise<number | string>;
  hasExited: () => boolean;
}

const running = new Set<ChildProcess>();
/** Keeps the development data directory (first-start admin password file, …) out of the repository. */
const dataDir = mkdtempSync(join(tmpdir(), 'keyward-shutdown-'));

function startKeywardProcess(env: Record<string, string>): Run {
  const child = spawn(nodeBinary(), ['--disable-warning=ExperimentalWarning', 'src/main.ts'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', KEYWARD_DATA_DIR: dataDir, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  let out = '';
  let err = '';
  child.stdout!.on('data', (b: Buffer) => {
    out += b.toString();
  });
  child.stderr!.on('data', (b: Buffer) => {
    err += b.toString();
  });
  let done = false;
  const exited = new Promise<number | string>((resolve) => {
    child.once('close', (code, signal) => {
      done = true;
      running.delete(child);
      resolve(code ?? signal ?? 'unknown');
    });
    child.once('error', (e) => {
      done = true;
      running.delete(child);
      err += `\nspawn failed: ${String(e)}`;
      resolve('spawn-error');
    });
  });
  return { child, stdout: () => out, stderr: () => err, exited, hasExited: () => done };
}

/** The exit code, or a failure naming what happened if the process does not exit within `ms`. */
async function exitWithin(run: Run, ms: number): Promise<number | string> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), ms);
  });
  const result = await Promise.race([run.exited, timeout]);
  clearTimeout(timer);
  if (result === 'timeout') {
    run.child.kill('SIGKILL');
    throw new Error(
      `process did not exit within ${ms} ms\nstdout:\n${run.stdout()}\nstderr:\n${run.stderr()}`,
    );
  }
  return result;
}

async function waitForHealthy(run: Run, baseUrl: string, ms = 45_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (run.hasExited()) break;
    try {
      const res = await fetch(`${baseUrl}/healthz`, { signal: AbortSignal.timeout(2000) });
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    await sleep(200);
  }
  throw new Error(
    `Keyward did not become healthy at ${baseUrl} (exited: ${run.hasExited()})\nstdout:\n${run.stdout()}\nstderr:\n${run.stderr()}`,
  );
}

function jsonLines(text: string): Record<string, unknown>[] {
  return text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .flatMap((l) => {
      try {
        return [JSON.parse(l) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
}

/** Sends the start of an HTTP request (headers not finished yet) and returns the socket. */
async function openPartialRequest(
  port: number,
): Promise<{ socket: Socket; response: Promise<string> }> {
  const socket = connect({ host: '127.0.0.1', port });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  let data = '';
  socket.on('data', (b: Buffer) => {
    data += b.toString();
  });
  const response = new Promise<string>((resolve) => {
    socket.on('close', () => resolve(data));
    socket.on('error', () => undefined);
  });
  socket.write('GET /readyz HTTP/1.1\r\nHost: 127.0.0.1\r\n');
  return { socket, response };
}

const dbNames: string[] = [];

afterAll(async () => {
  for (const child of running) child.kill('SIGKILL');
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
  rmSync(dataDir, { recursive: true, force: true });
}, 30_000);

describe('a running server', () => {
  const encryptionKey = randomBytes(32).toString('base64');
  let run: Run;
  let baseUrl: string;
  let port: number;

  beforeAll(async () => {
    port = await freePort();
    baseUrl = `http://127.0.0.1:${port}`;
    const dbName = `kw_shutdown_${randomBytes(6).toString('hex')}`;
    dbNames.push(dbName);
    run = startKeywardProcess({
      PORT: String(port),
      KEYWARD_HOST: '127.0.0.1',
      MONGODB_URI: databaseUri(dbName),
      KEYWARD_LOG_LEVEL: 'info',
      KEYWARD_ENCRYPTION_KEY: encryptionKey,
    });
    await waitForHealthy(run, baseUrl);
  }, 60_000);

  test('serves, then on SIGTERM finishes the request in flight, logs shutdown.done and exits 0 within 15 s', async () => {
    const ready = await fetch(`${baseUrl}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ready' });

    // A request whose headers are still arriving when the signal comes: it must be answered, not cut.
    const inflight = await openPartialRequest(port);
    await sleep(200);

    const t0 = Date.now();
    run.child.kill('SIGTERM');
    await sleep(300);
    inflight.socket.write('Accept: application/json\r\n\r\n');
    const response = await inflight.response;
    expect(response).toMatch(/^HTTP\/1\.1 200 /);
    expect(response).toMatch(/"status":"ready"/);

    const code = await exitWithin(run, 15_000);
    expect(code).toBe(0);
    expect(Date.now() - t0).toBeLessThan(15_000);

    const events = jsonLines(run.stdout()).map((l) => l.event);
    expect(events).toContain('startup.listening');
    expect(events).toContain('shutdown.start');
    expect(events).toContain('shutdown.done');
    expect(events.indexOf('shutdown.start')).toBeLessThan(events.indexOf('shutdown.done'));

    // Nothing listens any more.
    await expect(
      fetch(`${baseUrl}/healthz`, { signal: AbortSignal.timeout(2000) }),
    ).rejects.toThrow();
  }, 45_000);

  test('never prints the encryption key (nor a generated first-start admin password)', () => {
    const all = run.stdout() + run.stderr();
    expect(all.length).toBeGreaterThan(0);
    expect(all).not.toContain(encryptionKey);
    expect(all).not.toContain(Buffer.from(encryptionKey, 'base64').toString('hex'));
    expect(all).not.toContain(Buffer.from(encryptionKey, 'base64').toString('base64url'));
    const passwordFile = join(dataDir, 'initial-admin-password');
    if (existsSync(passwordFile)) {
      const password = readFileSync(passwordFile, 'utf8').trim();
      expect(password.length).toBeGreaterThan(0);
      expect(all).not.toContain(password);
    }
  });
});

describe('refuses to start', () => {
  async function refuse(
    env: Record<string, string>,
  ): Promise<{ code: number | string; stdout: string; stderr: string }> {
    const run = startKeywardProcess({
      KEYWARD_HOST: '127.0.0.1',
      KEYWARD_LOG_LEVEL: 'info',
      ...env,
    });
    const code = await exitWithin(run, 30_000);
    return { code, stdout: run.stdout(), stderr: run.stderr() };
  }

  test('with an invalid PORT, naming PORT', async () => {
    const r = await refuse({ PORT: 'abc', MONGODB_URI: databaseUri('kw_unused') });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/\bPORT\b/);
    expect(r.stderr).not.toContain('    at ');
  }, 40_000);

  test('in production without KEYWARD_COOKIE_KEYS, naming it', async () => {
    const r = await refuse({
      NODE_ENV: 'production',
      PORT: String(await freePort()),
      MONGODB_URI: databaseUri('kw_unused'),
      KEYWARD_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
      KEYWARD_PUBLIC_URL: 'https://id.example.com',
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('KEYWARD_COOKIE_KEYS');
    expect(r.stderr).not.toContain('    at ');
  }, 40_000);

  test('when the database given by MONGODB_URI cannot be reached, without a stack trace', async () => {
    const r = await refuse({
      PORT: String(await freePort()),
      MONGODB_URI: 'mongodb://127.0.0.1:1/keyward',
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('MONGODB_URI');
    expect(r.stderr).not.toContain('    at ');
    expect(r.stdout).not.toContain('    at ');
  }, 40_000);
});
