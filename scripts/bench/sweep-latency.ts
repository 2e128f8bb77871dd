/**
 * Does the sweeper stall request handling when 10^5 rows expire at once (issue 17)? Runs a
 * Keyward in this process (the composition root, as scripts/bench.ts does) on a store the script
 * starts, and measures with `wrk` (16 connections, a child process) the latency of introspection
 * (answered from memory) and of client_credentials grants (one insert each): once quiet, then
 * while the sweep deletes N expired client-credentials rows seeded just before. The event loop's
 * delay (perf_hooks) is recorded over each window: a stall shows there first.
 *
 *   node scripts/bench/sweep-latency.ts [--store mongo-java-server|ferretdb] [--rows 100000] [--seconds 8] [--rounds 2]
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { MongoClient } from 'mongodb';
import { loadConfig } from '../../src/platform/config/load-config.ts';
import { compose } from '../../src/compose.ts';
import { createLogger } from '../../src/platform/logging/logger.ts';
import { OidcPayloadRepository } from '../../src/platform/oidc/oidc-payload-repository.ts';
import { defaultFerretBin, startFerretDb, startMongoJavaServer, type Store } from './lib/stores.ts';
import { runWrk, type WrkRequest } from './lib/wrk.ts';
import { freePort, loadAverage, sleep } from './lib/processes.ts';

const { values: args } = parseArgs({
  options: {
    store: { type: 'string', default: 'mongo-java-server' },
    rows: { type: 'string', default: '100000' },
    seconds: { type: 'string', default: '8' },
    rounds: { type: 'string', default: '2' },
  },
});
const rows = Number(args.rows);
const seconds = Number(args.seconds);
const logDir = mkdtempSync(join(tmpdir(), 'kw-sweep-bench-'));
const store: Store =
  args.store === 'ferretdb'
    ? await startFerretDb({ bin: defaultFerretBin(), logDir })
    : await startMongoJavaServer({ logDir });
const uri = `mongodb://127.0.0.1:${store.port}/kw_sweep_${randomBytes(4).toString('hex')}`;
const secret = (s: string) => `${s}-${randomBytes(16).toString('hex')}`;
const cc = { id: 'cc', secret: secret('cc') };
const rs = { id: 'rs', secret: secret('rs') };
const port = await freePort();
const config = loadConfig(
  {},
  {
    env: 'test',
    port,
    host: '127.0.0.1',
    publicUrl: `http://127.0.0.1:${port}`,
    mongodbUri: uri,
    logLevel: 'warn',
    accessLog: 'off',
    encryptionKeys: randomBytes(32).toString('base64'),
    sweepIntervalSeconds: 86400,
    clients: [
      {
        client_id: cc.id,
        client_secret: cc.secret,
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
      },
      {
        client_id: rs.id,
        client_secret: rs.secret,
        grant_types: [],
        response_types: [],
        redirect_uris: [],
        resourceServer: true,
      },
    ],
  },
);
const container = await compose(config, { logger: createLogger('warn') });
const server = createServer(container.app.callback());
await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
// The sweep the server runs on its interval, on the server's own connection and event loop.
const payloads = new OidcPayloadRepository(container.connection, Date.now);
const basic = (c: { id: string; secret: string }) =>
  `Basic ${Buffer.from(`${c.id}:${c.secret}`).toString('base64')}`;
const tokenUrl = `${config.baseUrl}/api/oidc/token`;
const grant = async () => {
  const res = await fetch(tokenUrl, {
    method: 'POST',
    headers: { authorization: basic(cc) },
    body: new URLSearchParams({ grant_type: 'client_credentials' }),
  });
  return ((await res.json()) as { access_token: string }).access_token;
};
const token = await grant();
const workloads: Record<string, WrkRequest> = {
  introspection: {
    url: `${config.baseUrl}/api/oidc/introspect`,
    method: 'POST',
    body: `token=${token}`,
    authorization: basic(rs),
    expect: '"active":true',
  },
  grant: {
    url: tokenUrl,
    method: 'POST',
    body: 'grant_type=client_credentials',
    authorization: basic(cc),
    expect: 'access_token',
  },
};

async function seedExpired(n: number): Promise<void> {
  const client = await MongoClient.connect(uri);
  try {
    const coll = client.db().collection('oidc_client_credentials');
    const expiresAt = new Date(Date.now() - 1000);
    const payload = JSON.stringify({
      kind: 'ClientCredentials',
      clientId: cc.id,
      exp: Math.floor(expiresAt.getTime() / 1000),
    });
    for (let i = 0; i < n; i += 1000) {
      await coll.insertMany(
        Array.from({ length: Math.min(1000, n - i) }, () => ({
          _id: randomBytes(32).toString('base64url'),
          payload,
          expiresAt,
        })) as never[],
        { ordered: false },
      );
    }
  } finally {
    await client.close();
  }
}

interface Window {
  rps: number;
  p50: number;
  p99: number;
  bad: number;
  loopP99: number;
  loopMax: number;
  sweepMs?: number;
  swept?: number;
}

async function measure(w: WrkRequest, sweep: boolean): Promise<Window> {
  const h = monitorEventLoopDelay({ resolution: 5 });
  h.enable();
  let sweepDone: Promise<{ ms: number; swept: number }> | undefined;
  if (sweep) {
    sweepDone = sleep(500).then(async () => {
      const t0 = performance.now();
      const swept = await payloads.sweepExpired();
      return { ms: performance.now() - t0, swept };
    });
  }
  const r = await runWrk(w, seconds, 16, 2);
  h.disable();
  const s = await sweepDone;
  return {
    rps: r.rps,
    p50: r.p50ms,
    p99: r.p99ms,
    bad: r.bad,
    loopP99: h.percentile(99) / 1e6,
    loopMax: h.max / 1e6,
    sweepMs: s?.ms,
    swept: s?.swept,
  };
}

const f = (n: number) => n.toFixed(1);
process.stdout.write(
  `sweep-latency: ${store.label}, ${rows} expired rows, wrk -t2 -c16 ${seconds} s, load average ${loadAverage()}\n`,
);
process.stdout.write(
  '| workload | window | req/s | p50 ms | p99 ms | event-loop delay p99 / max ms | sweep |\n|---|---|---:|---:|---:|---|---|\n',
);
try {
  for (const w of Object.values(workloads)) await runWrk(w, 3, 16, 2); // warm-up
  for (let round = 1; round <= Number(args.rounds); round++) {
    for (const [name, w] of Object.entries(workloads)) {
      for (const sweep of [false, true]) {
        if (sweep) await seedExpired(rows);
        const m = await measure(w, sweep);
        const sweepText = sweep
          ? `${m.swept} rows in ${(m.sweepMs! / 1000).toFixed(1)} s${m.sweepMs! > seconds * 1000 - 500 ? ' (longer than the window)' : ''}`
          : '—';
        process.stdout.write(
          `| ${name} (round ${round}) | ${sweep ? 'during the sweep' : 'quiet'} | ${Math.round(m.rps)} | ${f(m.p50)} | ${f(m.p99)} | ${f(m.loopP99)} / ${f(m.loopMax)} | ${sweepText} |${m.bad ? ` ${m.bad} bad` : ''}\n`,
        );
      }
    }
  }
} finally {
  await sleep(1000); // requests wrk left in flight
  server.closeAllConnections();
  server.close();
  await container.close();
  await store.stop();
  rmSync(logDir, { recursive: true, force: true });
}
