/**
 * `npm run bench:idp`: Keyward against Keycloak on identity workloads, one system at a time on this
 * machine, in one run (issue 17). Keyward runs on stock FerretDB 1.24 (SQLite; no index used for
 * lookups) and on mongo-java-server (in memory, answers `_id` lookups from its index); Keycloak runs
 * from its Maven Central distribution with `start-dev` (H2 file database).
 *
 * Workloads (see lib/workloads.ts): (a) client_credentials, (b) introspection, (c) password sign-in
 * end to end with N concurrent users, (d) authenticated REST request (Keyward only), each measured
 * in several rounds with the order rotated, median reported; (e) (a) and (b) again at growing
 * numbers of stored OIDC rows (Keyward); start-up time and idle memory; the database commands of
 * one sign-in and one token request (through a counting proxy, in a separate phase).
 *
 * Writes <out>/idp-<time>.md (the tables) and .json (every measurement). Options: --help.
 */
import { parseArgs } from 'node:util';
import { cpus, totalmem, release } from 'node:os';
import { mkdirSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { tmpdir } from 'node:os';
import { randomBytes } from 'node:crypto';
import {
  REPO_ROOT,
  defaultFerretBin,
  startFerretDb,
  startMongoJavaServer,
  type Store,
  type StoreKind,
} from './lib/stores.ts';
import { describeCheckout, startKeyward, type KeywardCheckout } from './lib/keyward.ts';
import { keycloakSettings, prepareKeycloak, startKeycloak } from './lib/keycloak.ts';
import {
  check,
  measure,
  median,
  WORKLOADS,
  type Measurement,
  type Settings,
  type WorkloadId,
} from './lib/workloads.ts';
import { countRowsAt, growRows, removeRowsAddedSince, snapshotIds } from './lib/seed-rows.ts';
import { CommandCounter } from './lib/command-counter.ts';
import { fullSignIn } from './lib/browser.ts';
import { clientCredentialsToken, introspect, type IdpTarget } from './lib/targets.ts';
import { loadAverage, memoryMiB, safeExec, sleep } from './lib/processes.ts';
import { wrkVersion } from './lib/wrk.ts';
import { findJava } from './lib/java.ts';
import { summarizeProfiles } from './lib/cpu-profile.ts';

const { values: opt } = parseArgs({
  options: {
    'keyward-dir': { type: 'string', multiple: true },
    stores: { type: 'string', default: 'ferretdb,mongo-java-server' },
    keycloak: { type: 'boolean', default: true },
    'keycloak-version': { type: 'string', default: '26.7.3' },
    workloads: { type: 'string', default: 'a,b,c,d' },
    rounds: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '2' },
    'system-warmup': { type: 'string', default: '30' },
    profile: { type: 'boolean', default: false },
    connections: { type: 'string', default: '16' },
    threads: { type: 'string', default: '2' },
    'signin-users': { type: 'string', default: '8' },
    growth: { type: 'string', default: '1000,100000' },
    'growth-seconds': { type: 'string' },
    'count-commands': { type: 'boolean', default: true },
    'keyward-log-level': { type: 'string' },
    'ferretdb-bin': { type: 'string' },
    'ferretdb-port': { type: 'string' },
    'ferretdb-dir': { type: 'string' },
    out: { type: 'string', default: 'bench-results' },
    help: { type: 'boolean', default: false },
  },
  allowNegative: true,
});

if (opt.help) {
  process.stdout.write(`npm run bench:idp -- [options]
  --keyward-dir DIR        Keyward checkout to run (repeat to compare checkouts; default: this repository)
  --stores LIST            ferretdb,mongo-java-server (default both)
  --no-keycloak            skip Keycloak
  --keycloak-version V     org.keycloak:keycloak-quarkus-dist version (default 26.7.3)
  --workloads LIST         a,b,c,d (default all)
  --rounds N --seconds S --warmup S   rounds per workload, seconds each, warm-up before each (3, 10, 2)
  --system-warmup S        once per system before the rounds, each workload for S seconds (30; JIT warm-up)
  --profile                also profile Keyward's main thread (node --cpu-prof) per workload, on the faster store
  --connections N --threads N         wrk connections and threads (16, 2)
  --signin-users N         concurrent users for (c) (8)
  --growth LIST            stored OIDC rows for (e), e.g. 1000,100000; '' skips (e)
  --growth-seconds S       seconds per (e) measurement (default --seconds)
  --no-count-commands      skip counting database commands
  --keyward-log-level L    KEYWARD_LOG_LEVEL for Keyward (default: its configuration's default)
  --ferretdb-bin PATH --ferretdb-port N --ferretdb-dir DIR   (default ~/.cache/keyward/ferretdb-v1.24.2, free port, temp dir)
  --out DIR                results folder (default bench-results)
`);
  process.exit(0);
}

const num = (s: string | undefined, name: string) => {
  const n = Number(s);
  if (!Number.isFinite(n) || n < 0) {
    process.stderr.write(`bench: --${name} must be a number\n`);
    process.exit(2);
  }
  return n;
};
const settings: Settings = {
  seconds: num(opt.seconds, 'seconds'),
  warmup: num(opt.warmup, 'warmup'),
  connections: num(opt.connections, 'connections'),
  threads: num(opt.threads, 'threads'),
  signinUsers: num(opt['signin-users'], 'signin-users'),
};
const ROUNDS = num(opt.rounds, 'rounds');
const SYSTEM_WARMUP = num(opt['system-warmup'], 'system-warmup');
const GROWTH_SECONDS = num(opt['growth-seconds'] ?? opt.seconds, 'growth-seconds');
const GROWTH = (opt.growth ?? '')
  .split(',')
  .filter(Boolean)
  .map((s) => num(s, 'growth'));
const WL = (opt.workloads ?? '').split(',').filter(Boolean) as WorkloadId[];
const STORES = (opt.stores ?? '').split(',').filter(Boolean) as StoreKind[];
for (const s of STORES)
  if (s !== 'ferretdb' && s !== 'mongo-java-server') {
    process.stderr.write(`bench: unknown store ${s}\n`);
    process.exit(2);
  }
const USERS = Array.from({ length: Math.max(1, settings.signinUsers) }, (_, i) => `bench${i + 1}`);

if (!safeExec('sh', ['-c', 'command -v wrk'])) {
  process.stderr.write('bench: wrk is needed (Debian: apt-get install -y wrk)\n');
  process.exit(2);
}

const log = (s: string) => process.stderr.write(`${s}\n`);
const started = new Date();
const stamp = started.toISOString().replace(/[:.]/g, '-').slice(0, 19);
const outDir = resolve(opt.out!);
mkdirSync(outDir, { recursive: true });
const logDir = mkdtempSync(join(tmpdir(), 'kw-bench-logs-'));
const checkouts: KeywardCheckout[] = (
  opt['keyward-dir']?.length ? opt['keyward-dir'] : [REPO_ROOT]
).map((d) => describeCheckout(resolve(d), process.execPath));

interface SystemResult {
  system: string;
  checkout?: string;
  store?: string;
  storeKind?: StoreKind;
  startMs?: number;
  emptyStartMs?: number;
  idleMiB?: number;
  storeIdleMiB?: number;
  afterLoadMiB?: { rss: number; peak: number };
  measurements: Measurement[];
  growth?: { target: number; measurements: Measurement[] }[];
  commands?: Record<string, string[]>;
  profile?: Record<string, { origin: string; share: number }[]>;
  note?: string;
  skipped?: string;
}
const results: SystemResult[] = [];
const versions: Record<string, string> = { wrk: wrkVersion(), harnessNode: process.version };
let keycloakHashing = '';
let keycloakConfig = '';

/** Every workload ROUNDS times, the order rotated each round (no workload always first or after the same one). */
async function runWorkloads(
  t: IdpTarget,
  storePid: number | undefined,
  mongoUri?: string,
): Promise<Measurement[]> {
  const list: WorkloadId[] = [];
  for (const w of WL) if (await check(t, w)) list.push(w);
  // Once per system, every workload for a while: the JVM's and V8's compilers warm up before round 1.
  if (SYSTEM_WARMUP > 0)
    for (const w of list) await measure(t, w, { ...settings, warmup: 0 }, storePid, SYSTEM_WARMUP);
  const out: Measurement[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    for (let i = 0; i < list.length; i++) {
      const w = list[(i + round) % list.length];
      const rowsBefore = mongoUri ? (await countRowsAt(mongoUri)).total : undefined;
      const m = await measure(t, w, settings, storePid);
      if (mongoUri)
        Object.assign(m, { rowsBefore, rowsAfter: (await countRowsAt(mongoUri)).total });
      out.push(m);
      log(
        `    round ${round + 1} ${WORKLOADS[w]}: ${m.rps.toFixed(1)}/s${m.bad ? ` (${m.bad} bad: ${m.errors})` : ''}` +
          ` cpu server ${m.cpu.server}% store ${m.cpu.store}% loadgen ${m.cpu.loadGenerator}%${m.rowsAfter !== undefined ? ` rows ${m.rowsBefore}→${m.rowsAfter}` : ''}`,
      );
    }
  }
  return out;
}

/** The database commands of one sign-in, one grant, one introspection and one API-key request. */
async function countCommands(
  checkout: KeywardCheckout,
  store: Store,
): Promise<Record<string, string[]>> {
  const counter = new CommandCounter();
  const proxyPort = await counter.start(store.port);
  const uri = `mongodb://127.0.0.1:${proxyPort}/kwcount_${randomBytes(4).toString('hex')}`;
  const kw = await startKeyward({
    checkout,
    mongoUri: uri,
    logDir,
    users: USERS.slice(0, 1),
    logLevel: opt['keyward-log-level'],
    logName: 'keyward-count',
  });
  try {
    // Warm: the first sign-in and grant fill caches and create collections.
    await fullSignIn(kw, kw.users[0]);
    const token = await clientCredentialsToken(kw);
    await introspect(kw, token);
    await sleep(1500);
    const idleFrom = performance.now();
    await sleep(2000);
    const idle = counter.since(idleFrom);
    const out: Record<string, string[]> = { 'idle, 2 s (background polling)': idle };
    const one = async (name: string, op: () => Promise<unknown>) => {
      const from = performance.now();
      await op();
      out[name] = counter.since(from);
    };
    await one('one password sign-in end to end (authorize → form → code → token)', () =>
      fullSignIn(kw, kw.users[0]),
    );
    await one('one client_credentials grant', () => clientCredentialsToken(kw));
    const fresh = await clientCredentialsToken(kw);
    await one('one introspection', () => introspect(kw, fresh));
    await one('one API-key request (GET /api/auth/whoami)', () =>
      fetch(kw.rest!.url, { headers: { authorization: kw.rest!.authorization } }).then((r) =>
        r.text(),
      ),
    );
    return out;
  } finally {
    await kw.stop();
    await counter.stop();
  }
}

/** One Keyward per workload with `node --cpu-prof`: the shares of its main thread's busy time by origin. */
async function profileKeyward(
  checkout: KeywardCheckout,
  store: Store,
): Promise<Record<string, { origin: string; share: number }[]>> {
  const out: Record<string, { origin: string; share: number }[]> = {};
  for (const w of WL) {
    const dir = mkdtempSync(join(logDir, `profile-${w}-`));
    const uri = `mongodb://127.0.0.1:${store.port}/kwprof_${randomBytes(4).toString('hex')}`;
    const kw = await startKeyward({
      checkout,
      mongoUri: uri,
      logDir,
      users: USERS,
      logLevel: opt['keyward-log-level'],
      logName: `keyward-profile-${w}`,
      nodeFlags: ['--cpu-prof', `--cpu-prof-dir=${dir}`],
    });
    try {
      if (await check(kw, w)) await measure(kw, w, settings, store.pid);
    } finally {
      await kw.stop();
    }
    out[WORKLOADS[w]] = summarizeProfiles(dir);
  }
  return out;
}

async function startStore(kind: StoreKind): Promise<Store> {
  if (kind === 'ferretdb') {
    return startFerretDb({
      bin: opt['ferretdb-bin'] ?? defaultFerretBin(),
      logDir,
      port: opt['ferretdb-port'] ? num(opt['ferretdb-port'], 'ferretdb-port') : undefined,
      dir: opt['ferretdb-dir'],
    });
  }
  return startMongoJavaServer({ logDir });
}

async function benchKeyward(
  checkout: KeywardCheckout,
  kind: StoreKind,
  countHere: boolean,
): Promise<SystemResult> {
  const result: SystemResult = {
    system: `Keyward ${checkout.label}`,
    checkout: checkout.label,
    storeKind: kind,
    measurements: [],
  };
  log(`\n== Keyward ${checkout.label} on ${kind} (load average ${loadAverage()})`);
  const store = await startStore(kind);
  result.store = store.label;
  versions[`store ${kind}`] = store.label;
  try {
    const uri = `mongodb://127.0.0.1:${store.port}/kwbench_${randomBytes(4).toString('hex')}`;
    const kw = await startKeyward({
      checkout,
      mongoUri: uri,
      logDir,
      users: USERS,
      logLevel: opt['keyward-log-level'],
      logName: `keyward-${kind}`,
    });
    try {
      result.startMs = kw.startMs;
      await sleep(3000);
      result.idleMiB = kw.memory().rss;
      result.storeIdleMiB = memoryMiB(store.pid).rss;
      log(
        `    ready in ${(kw.startMs / 1000).toFixed(2)} s; idle ${result.idleMiB.toFixed(0)} MiB (store ${result.storeIdleMiB.toFixed(0)} MiB)`,
      );
      result.measurements = await runWorkloads(kw, store.pid, uri);
      result.afterLoadMiB = kw.memory();
    } finally {
      await kw.stop();
    }
    if (countHere && opt['count-commands']) {
      log('    counting database commands (through a proxy)');
      result.commands = await countCommands(checkout, store);
    }
    if (countHere && opt.profile) {
      log('    profiling Keyward (node --cpu-prof), one process per workload');
      result.profile = await profileKeyward(checkout, store);
    }
    if (GROWTH.length && (WL.includes('a') || WL.includes('b'))) {
      result.growth = [];
      const gUri = `mongodb://127.0.0.1:${store.port}/kwgrowth_${randomBytes(4).toString('hex')}`;
      const g = await startKeyward(
        {
          checkout,
          mongoUri: gUri,
          logDir,
          users: USERS,
          logLevel: opt['keyward-log-level'],
          logName: `keyward-${kind}-growth`,
        },
        true,
      );
      try {
        for (let i = 0; i < 20; i++) await introspect(g, await clientCredentialsToken(g));
        for (const target of GROWTH) {
          log(`    (e) growing to ${target} stored OIDC rows`);
          await growRows(gUri, target, log);
          // What a measurement adds (every grant is a row) is removed after it, so each starts at the target.
          const seeded = await snapshotIds(gUri);
          const ms: Measurement[] = [];
          for (let round = 0; round < ROUNDS; round++) {
            for (const w of (['b', 'a'] as WorkloadId[]).filter((x) => WL.includes(x))) {
              const rowsBefore = (await countRowsAt(gUri)).total;
              const m = await measure(g, w, settings, store.pid, GROWTH_SECONDS);
              Object.assign(m, { rowsBefore, rowsAfter: (await countRowsAt(gUri)).total });
              ms.push(m);
              log(
                `    (e) ${target} round ${round + 1} ${WORKLOADS[w]}: ${m.rps.toFixed(1)}/s rows ${m.rowsBefore}→${m.rowsAfter}${m.bad ? ` (${m.bad} bad: ${m.errors})` : ''}`,
              );
              await removeRowsAddedSince(gUri, seeded);
            }
          }
          result.growth.push({ target, measurements: ms });
        }
      } finally {
        await g.stop();
      }
    }
  } catch (err) {
    result.skipped = `failed: ${(err as Error).message}`;
    log(`    ${result.skipped}`);
  } finally {
    await store.stop();
  }
  return result;
}

async function benchKeycloak(): Promise<SystemResult> {
  const version = opt['keycloak-version']!;
  log(`\n== Keycloak ${version} (load average ${loadAverage()})`);
  const install = prepareKeycloak(version);
  if ('skip' in install) {
    log(`    SKIPPED: ${install.skip}`);
    return { system: `Keycloak ${version}`, measurements: [], skipped: install.skip };
  }
  versions.keycloak = `${version} (org.keycloak:keycloak-quarkus-dist, Maven Central), Java ${install.java.version}`;
  const result: SystemResult = { system: `Keycloak ${version}`, measurements: [] };
  const kc = await startKeycloak({ install, logDir, users: USERS });
  try {
    keycloakHashing = kc.passwordHashing;
    keycloakConfig = keycloakSettings(install, kc.pid);
    result.startMs = kc.startMs;
    result.emptyStartMs = kc.emptyStartMs;
    result.note = install.unpackedNow
      ? 'the start on an empty database was the first after unpacking (includes Quarkus augmentation)'
      : undefined;
    await sleep(3000);
    result.idleMiB = kc.memory().rss;
    log(
      `    ready in ${(kc.startMs / 1000).toFixed(2)} s (on an empty database ${(kc.emptyStartMs / 1000).toFixed(2)} s); idle ${result.idleMiB.toFixed(0)} MiB`,
    );
    result.measurements = await runWorkloads(kc, undefined);
    result.afterLoadMiB = kc.memory();
  } catch (err) {
    result.skipped = `failed: ${(err as Error).message}`;
    log(`    ${result.skipped}`);
  } finally {
    await kc.stop();
  }
  return result;
}

// ---- run -----------------------------------------------------------------------------------------
const loadAtStart = loadAverage();
log(`bench:idp — logs in ${logDir}; load average ${loadAtStart}`);
// Commands are counted once per checkout, on the faster store when it is in the run.
const countOn = STORES.includes('mongo-java-server') ? 'mongo-java-server' : STORES[0];
for (const kind of STORES) {
  for (const c of checkouts) results.push(await benchKeyward(c, kind, kind === countOn));
}
if (opt.keycloak) results.push(await benchKeycloak());
const loadAtEnd = loadAverage();

// ---- report --------------------------------------------------------------------------------------
const medianOf = (ms: Measurement[], w: WorkloadId) => {
  const list = ms.filter((m) => m.workload === w);
  if (!list.length) return undefined;
  const mid = median(list.map((m) => m.rps));
  return { ...list.find((m) => m.rps === mid)!, rounds: list.map((m) => m.rps) };
};
const fmt = (n: number | undefined, digits = 0) =>
  n === undefined
    ? '—'
    : n >= 100
      ? Math.round(n).toLocaleString('en-US')
      : n.toFixed(n < 10 ? 1 : digits);
const keycloak = results.find((r) => r.system.startsWith('Keycloak') && !r.skipped);
const keywards = results.filter((r) => r.checkout);
const col = (r: SystemResult) => `${r.checkout} on ${r.storeKind}`;
const cpuModel = cpus()[0]?.model ?? 'unknown CPU';
const lines: string[] = [];
const p = (s = '') => lines.push(s);

p(
  `## Identity workloads: Keyward vs Keycloak (\`npm run bench:idp\`, ${started.toISOString().slice(0, 16).replace('T', ' ')} UTC)`,
);
p();
p(
  `Machine: ${cpus().length} × ${cpuModel} (nproc ${safeExec('nproc', [])}), ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, Linux ${release()}. ` +
    `Load average ${loadAtStart} at the start, ${loadAtEnd} at the end (other work shares this machine: numbers are noisy).`,
);
p(
  `Settings: each system first runs every workload for ${SYSTEM_WARMUP} s (JIT warm-up), then ${ROUNDS} rounds × ${settings.seconds} s per workload after ${settings.warmup} s warm-up, order rotated each round, median round shown; ` +
    `wrk ${versions.wrk} -t${settings.threads} -c${settings.connections} for (a), (b), (d); (c) ${settings.signinUsers} concurrent users, each a new browser signing in again as soon as done; ` +
    `(e) ${ROUNDS} rounds × ${GROWTH_SECONDS} s. Load generator, servers and stores share the machine's cores.`,
);
p(
  `Keyward: ${checkouts.map((c) => `${c.label} (${c.dir}), Node ${c.nodeVersion}, \`node src/main.ts\`, password hashing ${c.argon2}`).join('; ')}; ` +
    `log level ${opt['keyward-log-level'] ?? 'configuration default'}.`,
);
p(`Stores: ${[...new Set(keywards.map((r) => r.store).filter(Boolean))].join('; ')}.`);
if (keycloak)
  p(
    `Keycloak: ${versions.keycloak}; ${keycloakConfig}; password hashing (stored credentialData) \`${keycloakHashing}\`.`,
  );
for (const r of results.filter((x) => x.skipped))
  p(`**${r.system}${r.storeKind ? ` on ${r.storeKind}` : ''}: ${r.skipped}**`);
p();
p('### Throughput, median round (requests or sign-ins per second), and Keyward / Keycloak');
p();
p(
  `| workload | ${keywards.map(col).join(' | ')} | ${keycloak ? keycloak.system : 'Keycloak (skipped)'} |`,
);
p(`|---|${keywards.map(() => '---:').join('|')}|---:|`);
for (const w of WL) {
  const kc = keycloak ? medianOf(keycloak.measurements, w) : undefined;
  const cells = keywards.map((r) => {
    const m = medianOf(r.measurements, w);
    if (!m) return '—';
    const ratio = kc && kc.rps > 0 ? ` (**${(m.rps / kc.rps).toFixed(2)}**)` : '';
    return `${fmt(m.rps)}${ratio}${m.bad ? ` ⚠ ${m.bad} bad` : ''}`;
  });
  p(
    `| ${WORKLOADS[w]} | ${cells.join(' | ')} | ${kc ? fmt(kc.rps) : w === 'd' && keycloak ? 'no equivalent' : '—'} |`,
  );
}
const startCell = (r: SystemResult) =>
  r.startMs === undefined
    ? '—'
    : `${(r.startMs / 1000).toFixed(2)} s${r.emptyStartMs ? ` (empty database: ${(r.emptyStartMs / 1000).toFixed(1)} s)` : ''}`;
p(
  `| start-up to ready | ${keywards.map(startCell).join(' | ')} | ${keycloak ? startCell(keycloak) : '—'} |`,
);
const memCell = (r: SystemResult) =>
  r.idleMiB === undefined
    ? '—'
    : `${fmt(r.idleMiB)} MiB${r.storeIdleMiB ? ` (+ store ${fmt(r.storeIdleMiB)} MiB)` : ''}${r.afterLoadMiB ? `; peak ${fmt(r.afterLoadMiB.peak)} MiB` : ''}`;
p(
  `| idle memory (RSS); peak RSS after the workloads | ${keywards.map(memCell).join(' | ')} | ${keycloak ? memCell(keycloak) : '—'} |`,
);
p();
p(
  'Ratios in bold: Keyward / Keycloak (above 1: Keyward is faster). Keycloak has no API keys: (d) has no Keycloak equivalent.',
);
if (keycloak?.note) p(`Keycloak: ${keycloak.note}.`);
p();
p('### Every measurement');
p();
p(
  '| system | workload | each round /s | p50 ms | p99 ms | CPU % of a core: server / store / load generator | per CPU-second of server + store | machine busy % | steal % | stored OIDC rows | bad answers | load avg |',
);
p('|---|---|---|---:|---:|---|---:|---:|---:|---|---:|---|');
for (const r of results) {
  for (const w of WL) {
    const m = medianOf(r.measurements, w);
    if (!m) continue;
    p(
      `| ${r.checkout ? col(r) : r.system} | ${WORKLOADS[w]} | ${m.rounds.map((x) => fmt(x)).join(', ')} | ${m.p50ms.toFixed(1)} | ${m.p99ms.toFixed(1)} | ` +
        `${m.cpu.server} / ${r.storeKind ? m.cpu.store : '—'} / ${m.cpu.loadGenerator} | ` +
        `${m.cpu.server + m.cpu.store > 0 ? fmt(m.rps / ((m.cpu.server + m.cpu.store) / 100)) : '—'} | ${m.cpu.machineBusy} | ${m.cpu.steal} | ` +
        `${m.rowsBefore !== undefined ? `${m.rowsBefore}→${m.rowsAfter}` : '—'} | ${m.bad} | ${m.loadAverage} |`,
    );
  }
}
const grown = keywards.filter((r) => r.growth?.length);
if (grown.length) {
  p();
  p('### (e) Data growth: (a) and (b) with more stored OIDC rows (Keyward)');
  p();
  p(
    `Rows were grown by cloning rows that real grants stored (scripts/bench/lib/seed-rows.ts). Every client_credentials grant adds a row, so the count grows during (a) ` +
      '(the range is shown); the rows a measurement added are deleted after it, so each measurement starts at the target. ' +
      `Keycloak's client_credentials tokens are not stored (self-contained JWTs without a session), so it is not measured here.`,
  );
  p();
  p(
    `| system | rows | ${(['b', 'a'] as WorkloadId[])
      .filter((w) => WL.includes(w))
      .map((w) => `${WORKLOADS[w]} /s (rows during)`)
      .join(' | ')} |`,
  );
  p(
    `|---|---:|${(['b', 'a'] as WorkloadId[])
      .filter((w) => WL.includes(w))
      .map(() => '---:')
      .join('|')}|`,
  );
  for (const r of grown) {
    const base: Partial<Record<WorkloadId, number>> = {};
    for (const g of r.growth!) {
      const cells = (['b', 'a'] as WorkloadId[])
        .filter((w) => WL.includes(w))
        .map((w) => {
          const m = medianOf(g.measurements, w);
          if (!m) return '—';
          base[w] ??= m.rps;
          const change = base[w]
            ? ` (${m.rps >= base[w]! ? '+' : ''}${((m.rps / base[w]! - 1) * 100).toFixed(0)} %)`
            : '';
          const rows = g.measurements.filter((x) => x.workload === w);
          return `${fmt(m.rps)}${g === r.growth![0] ? '' : change} (${Math.min(...rows.map((x) => x.rowsBefore ?? 0))}→${Math.max(...rows.map((x) => x.rowsAfter ?? 0))})`;
        });
      p(`| ${col(r)} | ~${g.target.toLocaleString('en-US')} | ${cells.join(' | ')} |`);
    }
  }
}
for (const r of keywards.filter((x) => x.commands)) {
  p();
  p(
    `### Database commands (${r.checkout}, counted on ${r.storeKind} through a proxy; driver monitoring (hello, ping) excluded)`,
  );
  p();
  const entries = Object.entries(r.commands!);
  const background = new Set(entries[0]?.[1] ?? []);
  for (const [what, cmds] of entries) {
    const isIdle = what === entries[0][0];
    const own = isIdle ? cmds : cmds.filter((c) => !background.has(c));
    const counts = new Map<string, number>();
    for (const c of own) counts.set(c, (counts.get(c) ?? 0) + 1);
    const polls = cmds.length - own.length;
    p(
      `- **${what}: ${own.length}**${polls ? ` (+ ${polls} background poll${polls > 1 ? 's' : ''} in the same moment, not counted)` : ''} — ` +
        `${[...counts].map(([c, n]) => `${n > 1 ? `${n}× ` : ''}\`${c}\``).join(', ') || 'none'}`,
    );
  }
}
for (const r of keywards.filter((x) => x.profile)) {
  p();
  p(
    `### Where Keyward's main thread spends its time (${r.checkout} on ${r.storeKind}, \`node --cpu-prof\`)`,
  );
  p();
  p(
    "Each sample is charged to its nearest caller in a package or in src/ (Node's and V8's internals count for whoever called them); " +
      "shares of the main thread's busy time. argon2 hashing runs in the thread pool and is not in it.",
  );
  p();
  for (const [what, shares] of Object.entries(r.profile!)) {
    p(
      `- ${what}: ${shares
        .slice(0, 8)
        .map((s) => `${s.origin} ${(s.share * 100).toFixed(0)} %`)
        .join(', ')}`,
    );
  }
}
p();
const report = lines.join('\n');
const base = join(outDir, `idp-${stamp}`);
writeFileSync(`${base}.md`, `${report}\n`);
writeFileSync(
  `${base}.json`,
  `${JSON.stringify(
    {
      started,
      loadAtStart,
      loadAtEnd,
      settings,
      rounds: ROUNDS,
      growth: GROWTH,
      growthSeconds: GROWTH_SECONDS,
      machine: {
        nproc: safeExec('nproc', []),
        cpu: cpuModel,
        memGiB: totalmem() / 2 ** 30,
        kernel: release(),
      },
      versions,
      checkouts,
      keycloakHashing,
      keycloakConfig,
      java: findJava(21)?.version,
      results,
    },
    null,
    2,
  )}\n`,
);
const keepLogs =
  !!process.env.BENCH_KEEP_LOGS || results.some((r) => r.skipped?.startsWith('failed'));
process.stdout.write(
  `\n${report}\nWritten to ${base}.md and .json${keepLogs ? `; server logs kept in ${logDir}` : ''}\n`,
);
if (!keepLogs) rmSync(logDir, { recursive: true, force: true });
