/**
 * `npm run bench`: requests/s and p50/p99 latency of GET /api/auth/whoami against a real Keyward
 * (its own process, its own database) with (a) no credential — the 401 path, (b) an API key
 * (Basic), (c) a CLI token (Bearer), (d) an OAuth access token obtained through a real
 * authorization-code flow (sign-in form, PKCE) — and the cost of verification relative to (a).
 *
 * Needs MONGODB_URI (MongoDB or FerretDB); uses a fresh database and drops it afterwards.
 * BENCH_DURATION_S (default 6), BENCH_WARMUP_S (2), BENCH_CONCURRENCY (16), BENCH_ROUNDS (5),
 * BENCH_LOG_LEVEL (warn) and BENCH_ACCESS_LOG (all)
 * tune the run; each case is measured once per round, the order rotated each round.
 * (e) repeats (b) while another process announces a credential revocation 10 times a second
 * (each one empties the verification cache everywhere), the worst case of revocation churn.
 * Then, unless BENCH_UNCACHED=0, the server is restarted with the verification cache off
 * (`credentials.verifyCacheMs: 0`) and (a) and (b) are measured again: the database-read cost.
 * The load generator is in this process: N keep-alive connections, each a loop of requests.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { Agent, request } from 'node:http';
import { cpus, loadavg, totalmem, platform, release } from 'node:os';
import { fileURLToPath } from 'node:url';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { MongoClient } from 'mongodb';
import { loadConfig } from '../src/platform/config/load-config.ts';
import { compose } from '../src/compose.ts';
import { createLogger } from '../src/platform/logging/logger.ts';
import { Browser, signIn } from '../test/helpers/browserless.ts';

const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 6);
const WARMUP_S = Number(process.env.BENCH_WARMUP_S ?? 2);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const UNCACHED = process.env.BENCH_UNCACHED !== '0';
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const CHURN_PER_S = 10;
const BASE_URI = process.env.MONGODB_URI;
if (!BASE_URI) {
  process.stderr.write(
    'bench: set MONGODB_URI to a MongoDB or FerretDB server (a fresh database is created and dropped)\n',
  );
  process.exit(2);
}

const PASSWORD = 'load-test passphrase that is long enough';
const CALLBACK = 'http://127.0.0.1/bench-callback';
const CLIENT_SECRET = randomBytes(24).toString('base64url');
const port = 20000 + Math.floor(Math.random() * 20000);
const baseUrl = `http://127.0.0.1:${port}`;
const dbUrl = new URL(BASE_URI);
const dbName = `kw_bench_${randomBytes(4).toString('hex')}`;
dbUrl.pathname = `/${dbName}`;
const env: Record<string, string> = {
  NODE_ENV: 'test',
  PORT: String(port),
  KEYWARD_HOST: '127.0.0.1',
  KEYWARD_PUBLIC_URL: baseUrl,
  MONGODB_URI: dbUrl.toString(),
  KEYWARD_LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'warn',
  KEYWARD_ACCESS_LOG: process.env.BENCH_ACCESS_LOG ?? 'all',
  KEYWARD_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
  KEYWARD_CLIENTS: JSON.stringify([
    {
      client_id: 'bench-web',
      client_secret: CLIENT_SECRET,
      redirect_uris: [CALLBACK],
      grant_types: ['authorization_code'],
      scope: 'openid profile email',
      firstParty: true,
    },
  ]),
};

/** Creates the user and an API key through the services (as an admin script would). */
async function seed(): Promise<string> {
  const config = loadConfig(env);
  const c = await compose(config, { logger: createLogger('warn'), sweeps: false });
  try {
    const org = await c.organizations.create('bench');
    const account = await c.accounts.register({
      username: 'bench',
      email: 'bench@example.com',
      password: PASSWORD,
    });
    await c.organizations.addMember(org.id, account.id);
    // An API key needs a browser session in sudo mode (a sign-in just now counts), as on the account pages.
    const principal = {
      account,
      via: 'session' as const,
      amr: ['pwd'],
      sessionUid: 'bench-seed',
      authTime: Math.floor(Date.now() / 1000),
    };
    const { plaintext } = await c.apiKeys.service.createKey(principal, { title: 'bench' }, {});
    return plaintext;
  } finally {
    await c.close();
  }
}

async function startServer(extra: Record<string, string> = {}): Promise<ChildProcess> {
  const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));
  const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', main], {
    env: { ...process.env, ...env, ...extra },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  for (let i = 0; i < 100; i++) {
    await new Promise((r) => setTimeout(r, 200));
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
    if (
      await fetch(`${baseUrl}/readyz`).then(
        (r) => r.ok,
        () => false,
      )
    )
      return child;
  }
  throw new Error('server did not become ready');
}

/** A real authorization-code flow with PKCE through the sign-in form; answers the access token. */
async function oauthAccessToken(): Promise<string> {
  const verifier = randomBytes(32).toString('base64url');
  const url = new URL(`${baseUrl}/api/oidc/authorize`);
  url.search = new URLSearchParams({
    client_id: 'bench-web',
    response_type: 'code',
    scope: 'openid profile email',
    redirect_uri: CALLBACK,
    state: 'bench',
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
  }).toString();
  const callback = new URL(
    await signIn(new Browser(), url.toString(), 'bench', PASSWORD, CALLBACK),
  );
  const res = await fetch(`${baseUrl}/api/oidc/token`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`bench-web:${CLIENT_SECRET}`).toString('base64')}`,
    },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code: callback.searchParams.get('code')!,
      redirect_uri: CALLBACK,
      code_verifier: verifier,
    }),
  });
  const body = (await res.json()) as { access_token?: string };
  if (!body.access_token) throw new Error(`token endpoint: ${JSON.stringify(body)}`);
  return body.access_token;
}

interface Result {
  name: string;
  expected: number;
  requests: number;
  wrongStatus: number;
  rps: number;
  p50: number;
  p99: number;
}

/** N workers on keep-alive connections, each sending the next request when the last one finished. */
async function load(
  name: string,
  headers: Record<string, string>,
  expected: number,
  seconds: number,
): Promise<Result> {
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const latencies: number[] = [];
  let wrongStatus = 0;
  const deadline = performance.now() + seconds * 1000;
  const one = () =>
    new Promise<void>((resolve, reject) => {
      const start = performance.now();
      const req = request(
        {
          host: '127.0.0.1',
          port,
          path: '/api/auth/whoami',
          agent,
          headers: { accept: 'application/json', ...headers },
        },
        (res) => {
          res.resume();
          res.on('end', () => {
            latencies.push(performance.now() - start);
            if (res.statusCode !== expected) wrongStatus++;
            resolve();
          });
        },
      );
      req.on('error', reject);
      req.end();
    });
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < deadline) await one();
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const pct = (p: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))];
  return {
    name,
    expected,
    requests: latencies.length,
    wrongStatus,
    rps: latencies.length / elapsed,
    p50: pct(0.5),
    p99: pct(0.99),
  };
}

interface Case {
  name: string;
  headers: Record<string, string>;
  expected: number;
  around?: (during: () => Promise<void>) => Promise<void>;
}
interface Summary {
  name: string;
  median: Result;
  ratios: number[];
  wrongStatus: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/**
 * Measures every case ROUNDS times, rotating the order each round so that no case always runs
 * first (right after a start) or after the same neighbour. Ratios compare with the first case
 * (the 401 path) of the same round.
 */
async function rounds(list: Case[]): Promise<Summary[]> {
  const byCase = new Map<string, Result[]>(list.map((c) => [c.name, []]));
  const ratios = new Map<string, number[]>(list.map((c) => [c.name, []]));
  for (let round = 0; round < ROUNDS; round++) {
    const order = list.map((_, i) => list[(i + round) % list.length]);
    const got = new Map<string, Result>();
    for (const c of order) {
      const run = async () => {
        await load(c.name, c.headers, c.expected, WARMUP_S);
        got.set(c.name, await load(c.name, c.headers, c.expected, DURATION_S));
      };
      await (c.around ? c.around(run) : run());
      process.stderr.write(`  round ${round + 1}: ${c.name}\n`);
    }
    for (const c of list) {
      byCase.get(c.name)!.push(got.get(c.name)!);
      ratios.get(c.name)!.push(got.get(c.name)!.rps / got.get(list[0].name)!.rps);
    }
  }
  return list.map((c) => {
    const results = byCase.get(c.name)!;
    const mid = [...results].sort((a, b) => a.rps - b.rps)[Math.floor(results.length / 2)];
    return {
      name: c.name,
      median: mid,
      ratios: ratios.get(c.name)!,
      wrongStatus: results.reduce((n, r) => n + r.wrongStatus, 0),
    };
  });
}

/** Runs `during` while a separate container on the same database announces revocations. */
async function withRevocationChurn(during: () => Promise<void>): Promise<void> {
  const c = await compose(loadConfig(env), { logger: createLogger('warn'), sweeps: false });
  const timer = setInterval(() => {
    c.revocations.announce().catch(() => undefined);
  }, 1000 / CHURN_PER_S);
  try {
    await during();
  } finally {
    clearInterval(timer);
    await c.close();
  }
}

const loadBefore = loadavg()
  .map((l) => l.toFixed(2))
  .join(' ');
async function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
}

const key = await seed();
let server = await startServer();
const tmp = mkdtempSync(join(tmpdir(), 'kw-bench-'));
try {
  const tokenRes = await fetch(`${baseUrl}/api/auth/token?ttl=24`, {
    headers: { authorization: `Basic ${Buffer.from(`${key}:`).toString('base64')}` },
  });
  const cliToken = JSON.parse(await tokenRes.text()) as string;
  const accessToken = await oauthAccessToken();
  const basicKey = { authorization: `Basic ${Buffer.from(`${key}:`).toString('base64')}` };
  const cases: Case[] = [
    { name: '(a) no credential (401)', headers: {}, expected: 401 },
    { name: '(b) API key (Basic)', headers: basicKey, expected: 200 },
    {
      name: '(c) CLI token (Bearer)',
      headers: { authorization: `Bearer ${cliToken}` },
      expected: 200,
    },
    {
      name: '(d) OAuth access token (Bearer)',
      headers: { authorization: `Bearer ${accessToken}` },
      expected: 200,
    },
    {
      name: `(e) API key (Basic), ${CHURN_PER_S} revocations/s from another process`,
      headers: basicKey,
      expected: 200,
      around: withRevocationChurn,
    },
  ];
  const summaries = await rounds(cases);
  if (UNCACHED) {
    await stopServer(server);
    const file = join(tmp, 'uncached.json');
    writeFileSync(file, JSON.stringify({ credentials: { verifyCacheMs: 0 } }));
    server = await startServer({ KEYWARD_CONFIG_FILE: file });
    summaries.push(
      ...(await rounds(cases.slice(0, 2).map((c) => ({ ...c, name: `${c.name}, cache off` })))),
    );
  }
  const cpu = cpus();
  process.stdout.write(
    `\nMachine: ${cpu.length} × ${cpu[0]?.model ?? 'unknown CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB RAM, ${platform()} ${release()}, Node ${process.version}\n`,
  );
  process.stdout.write(
    `Run: ${CONCURRENCY} keep-alive connections, ${ROUNDS} rounds (case order rotated), ${DURATION_S} s per case after ${WARMUP_S} s warm-up; database ${dbUrl.host}; load average before the run ${loadBefore}\n\n`,
  );
  process.stdout.write(
    '| Case | req/s (median) | p50 (ms) | p99 (ms) | vs (a) throughput, median | each round | unexpected status |\n|---|---:|---:|---:|---:|---|---:|\n',
  );
  for (const s of summaries) {
    const pct = (x: number) => `${(x * 100).toFixed(0)}%`;
    process.stdout.write(
      `| ${s.name} | ${s.median.rps.toFixed(0)} | ${s.median.p50.toFixed(2)} | ${s.median.p99.toFixed(2)} | ${pct(median(s.ratios))} | ${s.ratios.map(pct).join(', ')} | ${s.wrongStatus} |\n`,
    );
  }
  process.stdout.write('\n');
} finally {
  await stopServer(server);
  rmSync(tmp, { recursive: true, force: true });
  const client = await MongoClient.connect(dbUrl.toString());
  await client
    .db(dbName)
    .dropDatabase()
    .catch(() => undefined);
  await client.close();
}
