/**
 * The measured workloads, the same for every identity provider:
 *   (a) client_credentials grant, (b) RFC 7662 introspection of a client_credentials access token
 *   by a resource-server client, both with wrk; (c) complete password sign-ins (authorize → form →
 *   code → tokens with PKCE) by N concurrent users, driven from this process; (d) an authenticated
 *   REST request (Keyward: GET /api/auth/whoami with an API key) with wrk.
 * Each measurement also records the CPU used by the server, its store and the load generator.
 */
import { fullSignIn } from './browser.ts';
import { basicAuth, clientCredentialsToken, introspect, type IdpTarget } from './targets.ts';
import { runWrk, type WrkRequest } from './wrk.ts';
import { cpuSeconds, cpuStat, loadAverage, stealShare } from './processes.ts';

export type WorkloadId = 'a' | 'b' | 'c' | 'd';
export const WORKLOADS: Record<WorkloadId, string> = {
  a: '(a) client_credentials grant',
  b: '(b) introspection (RFC 7662)',
  c: '(c) password sign-in end to end, code + PKCE',
  d: '(d) authenticated REST request (API key)',
};

export interface Settings {
  seconds: number;
  warmup: number;
  connections: number;
  threads: number;
  signinUsers: number;
}

export interface Measurement {
  workload: WorkloadId;
  rps: number;
  requests: number;
  p50ms: number;
  p99ms: number;
  bad: number;
  errors: string;
  /** CPU use in % of one core over the measurement. */
  cpu: { server: number; store: number; loadGenerator: number; machineBusy: number; steal: number };
  loadAverage: string;
  rowsBefore?: number;
  rowsAfter?: number;
}

/** Answers whether the workload applies to the target, and checks once that it works. */
export async function check(t: IdpTarget, w: WorkloadId): Promise<boolean> {
  switch (w) {
    case 'a':
      await clientCredentialsToken(t);
      return true;
    case 'b': {
      if (!(await introspect(t, await clientCredentialsToken(t))))
        throw new Error(`${t.name}: introspection of a fresh token answered active: false`);
      return true;
    }
    case 'c':
      await fullSignIn(t, t.users[0]);
      return true;
    case 'd': {
      if (!t.rest) return false;
      const res = await fetch(t.rest.url, {
        headers: { authorization: t.rest.authorization, accept: 'application/json' },
      });
      if (res.status !== 200) throw new Error(`${t.name}: ${t.rest.url} answered ${res.status}`);
      await res.body?.cancel();
      return true;
    }
  }
}

async function wrkRequest(t: IdpTarget, w: WorkloadId): Promise<WrkRequest> {
  switch (w) {
    case 'a':
      return {
        url: t.tokenUrl,
        method: 'POST',
        body: 'grant_type=client_credentials',
        authorization: basicAuth(t.clients.cc),
        expect: '"access_token"',
      };
    case 'b': {
      // A fresh token for every measurement: Keycloak's default access token lives 5 minutes.
      const token = await clientCredentialsToken(t);
      return {
        url: t.introspectionUrl,
        method: 'POST',
        body: `token=${encodeURIComponent(token)}`,
        authorization: basicAuth(t.clients.rs),
        expect: '"active":true',
      };
    }
    case 'd':
      return { url: t.rest!.url, method: 'GET', authorization: t.rest!.authorization };
    default:
      throw new Error(`no wrk request for ${w}`);
  }
}

/** N concurrent users, each signing in again as soon as the last sign-in finished. */
async function signIns(t: IdpTarget, seconds: number, users: number) {
  const latencies: number[] = [];
  let failures = 0;
  let firstError = '';
  const deadline = performance.now() + seconds * 1000;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: users }, async (_, i) => {
      const username = t.users[i % t.users.length];
      while (performance.now() < deadline) {
        const s = performance.now();
        try {
          await fullSignIn(t, username);
          latencies.push(performance.now() - s);
        } catch (err) {
          failures++;
          firstError ||= (err as Error).message.slice(0, 200);
        }
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((x, y) => x - y);
  const pct = (p: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] ?? 0;
  return {
    rps: latencies.length / elapsed,
    requests: latencies.length,
    p50ms: pct(0.5),
    p99ms: pct(0.99),
    bad: failures,
    errors: firstError,
  };
}

/** One measurement (after a warm-up of the same kind), with the CPU each party used. */
export async function measure(
  t: IdpTarget,
  w: WorkloadId,
  s: Settings,
  storePid: number | undefined,
  seconds = s.seconds,
): Promise<Measurement> {
  const once = async (secs: number) => {
    if (w === 'c') {
      const before = process.cpuUsage();
      const r = await signIns(t, secs, s.signinUsers);
      const used = process.cpuUsage(before);
      return { ...r, loadGeneratorCpu: (used.user + used.system) / 1e6 };
    }
    const r = await runWrk(await wrkRequest(t, w), secs, s.connections, s.threads);
    return { ...r, loadGeneratorCpu: r.cpu };
  };
  if (s.warmup > 0) await once(s.warmup);
  const load = loadAverage();
  const stat0 = cpuStat();
  const server0 = cpuSeconds(t.pid);
  const store0 = cpuSeconds(storePid);
  const t0 = performance.now();
  const r = await once(seconds);
  const elapsed = (performance.now() - t0) / 1000;
  const stat1 = cpuStat();
  const busy = (a: number[]) => a.reduce((x, y) => x + y, 0) - (a[3] ?? 0) - (a[4] ?? 0);
  const total = (a: number[]) => a.reduce((x, y) => x + y, 0);
  const pct = (cpu: number) => Math.round((cpu / elapsed) * 100);
  return {
    workload: w,
    rps: r.rps,
    requests: r.requests,
    p50ms: r.p50ms,
    p99ms: r.p99ms,
    bad: r.bad,
    errors: r.errors,
    loadAverage: load,
    cpu: {
      server: pct(cpuSeconds(t.pid) - server0),
      store: storePid ? pct(cpuSeconds(storePid) - store0) : 0,
      loadGenerator: pct(r.loadGeneratorCpu),
      machineBusy: Math.round(
        ((busy(stat1) - busy(stat0)) / Math.max(1, total(stat1) - total(stat0))) * 100,
      ),
      steal: Math.round(stealShare(stat0, stat1) * 100),
    },
  };
}

export const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)] : 0;
};
