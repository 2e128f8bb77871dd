/** Runs `wrk` (Debian's package) with scripts/bench/wrk-request.lua and reads its summary. */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { cpuSeconds, outputOf } from './processes.ts';

const SCRIPT = fileURLToPath(new URL('../wrk-request.lua', import.meta.url));

export interface WrkRequest {
  url: string;
  method: 'GET' | 'POST';
  body?: string;
  authorization?: string;
  expect?: string;
}
export interface WrkResult {
  rps: number;
  requests: number;
  p50ms: number;
  p99ms: number;
  /** Non-2xx/3xx answers, socket errors and answers without the expected text. */
  bad: number;
  errors: string;
  /** CPU seconds wrk itself used (sampled every 200 ms, so a little low). */
  cpu: number;
}

export function wrkVersion(): string {
  // `wrk --version` prints its banner and usage, then exits with status 1.
  return /wrk (\S+)/.exec(outputOf('wrk', ['--version']))?.[1] ?? '';
}

export async function runWrk(
  r: WrkRequest,
  seconds: number,
  connections: number,
  threads: number,
): Promise<WrkResult> {
  const child = spawn(
    'wrk',
    [`-t${threads}`, `-c${connections}`, `-d${seconds}s`, '--timeout', '30s', '-s', SCRIPT, r.url],
    {
      env: {
        ...process.env,
        BENCH_METHOD: r.method,
        BENCH_BODY: r.body ?? '',
        BENCH_AUTH: r.authorization ?? '',
        BENCH_EXPECT: r.expect ?? '',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    out += d.toString();
  });
  let cpu = 0;
  const sampler = setInterval(() => {
    cpu = Math.max(cpu, cpuSeconds(child.pid));
  }, 200);
  const code = await new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? 1)));
  clearInterval(sampler);
  const num = (re: RegExp) => Number(re.exec(out)?.[1] ?? 0);
  const requests = num(/(\d+) requests in/);
  const rps = num(/Requests\/sec:\s+([\d.]+)/);
  if (code !== 0 || !/Requests\/sec/.test(out))
    throw new Error(`wrk failed (exit ${code}): ${out.slice(0, 500)}`);
  const nonOk = num(/Non-2xx or 3xx responses: (\d+)/);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const socketErrors = socket
    ? socket
        .slice(1)
        .map(Number)
        .reduce((a, b) => a + b, 0)
    : 0;
  const unexpected = num(/bench_unexpected_body (\d+)/);
  return {
    rps,
    requests,
    p50ms: num(/p50=(\d+)/) / 1000,
    p99ms: num(/p99=(\d+)/) / 1000,
    bad: Math.max(nonOk, unexpected) + socketErrors,
    errors: [
      nonOk && `${nonOk} non-2xx/3xx`,
      unexpected && `${unexpected} without "${r.expect}"`,
      socket && socketErrors && socket[0],
    ]
      .filter(Boolean)
      .join(', '),
    cpu,
  };
}
