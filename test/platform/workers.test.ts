/**
 * `KEYWARD_WORKERS=2`: the real entry point runs two worker processes behind one port. Requests on
 * new connections are spread over both; a token revoked through one worker is inactive on every
 * connection within a poll of the change signal, for concurrent introspections; a worker that
 * dies is replaced; SIGTERM stops all of them (exit code 0); a bad value is refused by name.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MongoClient } from 'mongodb';
import { atOnce } from '../helpers/at-once.ts';
import { databaseUri, freePort } from '../helpers/keyward.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SECRET = 'workers-machine-secret-0123456789abcdefghij';
const RS_SECRET = 'workers-rs-secret-0123456789abcdefghijklmn';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const dataDir = mkdtempSync(join(tmpdir(), 'keyward-workers-'));
const dbName = `kw_workers_${randomBytes(6).toString('hex')}`;

let child: ChildProcess;
let exited: Promise<number | string>;
let stderr = '';
let port: number;

/** The worker processes' pids (the primary's children). */
function workerPids(): number[] {
  try {
    return readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

/** One request on a connection of its own (no keep-alive), so the cluster may give it to any worker. */
function post(
  path: string,
  body: string | undefined,
  user = '',
  secret = '',
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: body === undefined ? 'GET' : 'POST',
        agent: false,
        headers: {
          authorization: `Basic ${Buffer.from(`${user}:${secret}`).toString('base64')}`,
          'content-type': 'application/x-www-form-urlencoded',
        },
      },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => {
          text += d.toString();
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('error', reject);
    req.end(body ?? '');
  });
}

const active = async (token: string) => {
  const res = await post(
    '/api/oidc/introspect',
    new URLSearchParams({ token }).toString(),
    'rs',
    RS_SECRET,
  );
  expect(res.status).toBe(200);
  return (JSON.parse(res.body) as { active: boolean }).active;
};

async function waitUntil(
  check: () => boolean | Promise<boolean>,
  what: string,
  ms = 45_000,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (
      await Promise.resolve()
        .then(check)
        .catch(() => false)
    )
      return;
    await sleep(100);
  }
  throw new Error(`${what} not seen within ${ms} ms\nstderr:\n${stderr}`);
}

beforeAll(async () => {
  port = await freePort();
  child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', 'src/main.ts'], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      KEYWARD_DATA_DIR: dataDir,
      PORT: String(port),
      KEYWARD_HOST: '127.0.0.1',
      MONGODB_URI: databaseUri(dbName),
      KEYWARD_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
      KEYWARD_LOG_LEVEL: 'warn',
      KEYWARD_WORKERS: '2',
      KEYWARD_CLIENTS: JSON.stringify([
        {
          client_id: 'machine',
          client_secret: SECRET,
          grant_types: ['client_credentials'],
          response_types: [],
          redirect_uris: [],
        },
        {
          client_id: 'rs',
          client_secret: RS_SECRET,
          grant_types: [],
          response_types: [],
          redirect_uris: [],
          resourceServer: true,
        },
      ]),
    },
  });
  child.stderr!.on('data', (b: Buffer) => {
    stderr += b.toString();
  });
  exited = new Promise((resolve) =>
    child.once('close', (code, signal) => resolve(code ?? signal ?? 'unknown')),
  );
  await waitUntil(
    async () => workerPids().length === 2 && (await post('/readyz', undefined)).status === 200,
    'two ready workers',
  );
}, 60_000);

afterAll(async () => {
  if (child.exitCode === null) child.kill('SIGKILL');
  const client = await MongoClient.connect(process.env.MONGODB_URI!, {
    serverSelectionTimeoutMS: 3000,
  }).catch(() => undefined);
  await client
    ?.db(dbName)
    .dropDatabase()
    .catch(() => undefined);
  await client?.close();
  rmSync(dataDir, { recursive: true, force: true });
}, 30_000);

async function grant(): Promise<string> {
  const res = await post('/api/oidc/token', 'grant_type=client_credentials', 'machine', SECRET);
  expect(res.status).toBe(200);
  return (JSON.parse(res.body) as { access_token: string }).access_token;
}

test('two workers serve one port, and a revocation through one holds on both within a poll', async () => {
  const token = await grant();
  // Enough connections that both workers have looked the token up (and remembered it).
  expect(await atOnce(16, () => active(token))).toEqual(Array(16).fill(true));
  const revoked = await post(
    '/api/oidc/revoke',
    new URLSearchParams({ token }).toString(),
    'machine',
    SECRET,
  );
  expect(revoked.status).toBe(200);
  const start = Date.now();
  let answers: boolean[] = [];
  while (Date.now() - start < 3000) {
    answers = await atOnce(8, () => active(token));
    if (answers.every((a) => !a)) break;
    await sleep(25);
  }
  expect(answers).toEqual(Array(8).fill(false));
  expect(Date.now() - start).toBeLessThan(1500); // credentials.revocationPollMs is 250 ms
  await sleep(600);
  expect(await atOnce(16, () => active(token))).toEqual(Array(16).fill(false));
});

test('a worker that dies is replaced, and the port keeps answering', async () => {
  const [first] = workerPids();
  process.kill(first, 'SIGKILL');
  await waitUntil(
    () => workerPids().length === 2 && !workerPids().includes(first),
    'a replacement worker',
  );
  await waitUntil(
    async () => (await atOnce(8, async () => (await grant()).length > 0)).every(Boolean),
    'grants on every connection',
  );
}, 60_000);

test('SIGTERM stops every worker and the primary exits 0', async () => {
  const pids = workerPids();
  expect(pids).toHaveLength(2);
  child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise((resolve) => {
    timer = setTimeout(() => resolve('timeout'), 20_000);
  });
  expect(await Promise.race([exited, timeout])).toBe(0);
  clearTimeout(timer);
  for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow();
}, 30_000);

test('KEYWARD_WORKERS must be a whole number from 1 to 64', async () => {
  const bad = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', 'src/main.ts'], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      KEYWARD_DATA_DIR: dataDir,
      MONGODB_URI: databaseUri(dbName),
      KEYWARD_WORKERS: 'two',
    },
  });
  let err = '';
  bad.stderr!.on('data', (b: Buffer) => {
    err += b.toString();
  });
  const code = await new Promise((resolve) => bad.once('close', resolve));
  expect(code).toBe(1);
  expect(err).toMatch(/KEYWARD_WORKERS.*integer between 1 and 64/);
});
