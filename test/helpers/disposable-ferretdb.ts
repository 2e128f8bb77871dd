/**
 * A private FerretDB (MongoDB wire protocol on SQLite) that a test can stop and start again, to
 * see how Keyward behaves while its database is away. Same flags as scripts/ferretdb.sh.
 *
 * The binary is FERRETDB_BIN, else ~/.cache/keyward/ferretdb-v1.24.2, else `ferretdb` on PATH.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import {
  ferretDbBinaryPath,
  freePort,
  isExecutable,
  portOpen,
} from '../../src/platform/db/embedded.ts';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

export interface DisposableFerretDb {
  /** mongodb://127.0.0.1:<port>/ (no database name; see `databaseUri`). */
  uri: string;
  port: number;
  dir: string;
  /**
   * Stops the process and waits for it to exit: SIGTERM (FerretDB then drains for a few
   * seconds), SIGKILL after 10 s. Pass 'SIGKILL' to lose the database abruptly.
   */
  stop(signal?: 'SIGTERM' | 'SIGKILL'): Promise<void>;
  /** Starts it again on the same port and data directory; resolves once the port accepts connections. */
  start(): Promise<void>;
  /** Stops it and removes its data directory. */
  dispose(): Promise<void>;
}

export function findFerretDbBinary(): string {
  const named = [
    ...(process.env.FERRETDB_BIN ? [process.env.FERRETDB_BIN] : []),
    ferretDbBinaryPath(),
  ];
  const onPath = (process.env.PATH ?? '')
    .split(delimiter)
    .filter(Boolean)
    .map((dir) => join(dir, 'ferretdb'));
  const found = [...named, ...onPath].find(isExecutable);
  if (!found) {
    throw new Error(
      `No FerretDB binary found (looked at ${named.join(', ')} and for \`ferretdb\` on PATH). ` +
        'Run `bash scripts/ferretdb.sh build` (needs Go), or set FERRETDB_BIN to a FerretDB 1.24 binary.',
    );
  }
  return found;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function startDisposableFerretDb(): Promise<DisposableFerretDb> {
  const bin = findFerretDbBinary();
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'keyward-ferretdb-'));
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let output = '';

  async function start(): Promise<void> {
    if (child) throw new Error('FerretDB is already running');
    output = '';
    const proc = spawn(
      bin,
      [
        '--handler=sqlite',
        `--sqlite-url=file:${dir}/`,
        `--state-dir=${dir}`,
        `--listen-addr=127.0.0.1:${port}`,
        '--debug-addr=-',
        '--telemetry=disable',
        '--log-level=warn',
      ],
      { env: { ...process.env, DO_NOT_TRACK: '1' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const keep = (b: Buffer) => {
      output = (output + b.toString()).slice(-8000);
    };
    proc.stdout!.on('data', keep);
    proc.stderr!.on('data', keep);
    let hasExited = false;
    exited = new Promise<void>((resolve) => {
      proc.once('exit', () => {
        hasExited = true;
        resolve();
      });
      proc.once('error', (err) => {
        output += `\n${String(err)}`;
        hasExited = true;
        resolve();
      });
    });
    child = proc;

    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      if (hasExited) break;
      if (await portOpen(port)) return;
      await sleep(100);
    }
    await stop();
    throw new Error(`FerretDB (${bin}) did not start on 127.0.0.1:${port}. Output:\n${output}`);
  }

  async function stop(signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> {
    const proc = child;
    if (!proc) return;
    child = undefined;
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill(signal);
      const killer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(killer);
    }
    // The port must be free again before start() binds it.
    const deadline = Date.now() + 5_000;
    while (Date.now() < deadline && (await portOpen(port))) await sleep(50);
  }

  async function dispose(): Promise<void> {
    await stop();
    rmSync(dir, { recursive: true, force: true });
  }

  await start().catch((err: unknown) => {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  });
  return { uri: `mongodb://127.0.0.1:${port}/`, port, dir, stop, start, dispose };
}
