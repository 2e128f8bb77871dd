/**
 * Child processes for the identity-provider benchmark: started in their own process group (so a
 * server's helpers stop with it), stopped by that group's id only, and observed through /proc
 * (CPU time and resident memory) to say where the time goes.
 */
import {
  spawn,
  spawnSync,
  execFileSync,
  type ChildProcess,
  type SpawnOptions,
} from 'node:child_process';
import { appendFileSync, closeSync, openSync, readFileSync, readdirSync } from 'node:fs';
import { createServer } from 'node:net';

export interface Started {
  child: ChildProcess;
  pid: number;
  /** Where its stdout and stderr go. */
  logFile: string;
}

/** Starts `cmd` detached (own process group), output appended to `logFile`. */
export function startProcess(
  cmd: string,
  args: string[],
  options: SpawnOptions & { logFile: string },
): Started {
  // The log file is the child's own stdout/stderr: its output never passes through this process.
  const fd = openSync(options.logFile, 'a');
  const { logFile: _logFile, ...spawnOptions } = options;
  const child = spawn(cmd, args, { ...spawnOptions, detached: true, stdio: ['pipe', fd, fd] });
  closeSync(fd);
  child.on('error', (err) => appendFileSync(options.logFile, `\nspawn error: ${err.message}\n`));
  if (!child.pid) throw new Error(`could not start ${cmd}`);
  return { child, pid: child.pid, logFile: options.logFile };
}

/** SIGTERM to the process group we created, SIGKILL after `graceMs`; resolves when the leader exited. */
export async function stopProcess(p: Started | undefined, graceMs = 15000): Promise<void> {
  if (!p || p.child.exitCode !== null || p.child.signalCode !== null) return;
  const exited = new Promise((r) => p.child.once('exit', r));
  try {
    process.kill(-p.pid, 'SIGTERM');
  } catch {
    /* already gone */
  }
  const timer = setTimeout(() => {
    try {
      process.kill(-p.pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }, graceMs);
  await exited;
  clearTimeout(timer);
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `probe` every `everyMs` until it answers true; answers the milliseconds it took. */
export async function waitUntil(
  probe: () => Promise<boolean>,
  what: string,
  timeoutMs: number,
  p?: Started,
  everyMs = 50,
): Promise<number> {
  const start = performance.now();
  while (performance.now() - start < timeoutMs) {
    if (p && (p.child.exitCode !== null || p.child.signalCode !== null)) {
      throw new Error(
        `${what}: the process exited (${p.child.exitCode ?? p.child.signalCode}); see ${p.logFile}`,
      );
    }
    if (await probe().catch(() => false)) return performance.now() - start;
    await sleep(everyMs);
  }
  throw new Error(`${what}: not ready after ${timeoutMs / 1000} s${p ? `; see ${p.logFile}` : ''}`);
}

export const httpOk = (url: string) => async () =>
  (await fetch(url, { signal: AbortSignal.timeout(2000) })).ok;

/** A TCP port nobody listens on right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

const TICKS = Number(safeExec('getconf', ['CLK_TCK']) || 100);

/** The process and all its descendants (kc.sh, for one, runs java as its child). */
export function processTree(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      /* exited meanwhile */
    }
  }
  const out = [pid];
  for (let i = 0; i < out.length; i++) out.push(...(children.get(out[i]) ?? []));
  return out;
}

function ownCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS;
  } catch {
    return 0;
  }
}

/** User + system CPU seconds a process and its descendants have used so far (0 when gone). */
export function cpuSeconds(pid: number | undefined): number {
  return pid ? processTree(pid).reduce((sum, p) => sum + ownCpuSeconds(p), 0) : 0;
}

/** Resident memory of a process and its descendants, now and at each one's peak, in MiB. */
export function memoryMiB(pid: number | undefined): { rss: number; peak: number } {
  const total = { rss: 0, peak: 0 };
  for (const p of pid ? processTree(pid) : []) {
    try {
      const status = readFileSync(`/proc/${p}/status`, 'utf8');
      const kib = (name: string) =>
        Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0);
      total.rss += kib('VmRSS') / 1024;
      total.peak += kib('VmHWM') / 1024;
    } catch {
      /* exited */
    }
  }
  return total;
}

/** Output of a command, or '' when it fails or is missing. */
export function safeExec(
  cmd: string,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): string {
  try {
    return execFileSync(cmd, args, {
      ...options,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 60000,
    }).trim();
  } catch {
    return '';
  }
}

/** Everything a command printed (stdout then stderr), whatever its exit status; '' when it cannot run. */
export function outputOf(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 60000 });
  return r.error ? '' : `${r.stdout ?? ''}${r.stderr ?? ''}`;
}

/** The 1-, 5- and 15-minute load averages now, as text. */
export function loadAverage(): string {
  return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
}

/** Snapshot of /proc/stat's aggregate CPU line, to compute the share of steal time over a span. */
export function cpuStat(): number[] {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0];
  return line.trim().split(/\s+/).slice(1).map(Number);
}

export function stealShare(before: number[], after: number[]): number {
  const d = after.map((v, i) => v - (before[i] ?? 0));
  const total = d.reduce((a, b) => a + b, 0);
  return total > 0 ? (d[7] ?? 0) / total : 0;
}
