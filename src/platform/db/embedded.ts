/**
 * The embedded database, for `npm start` (and `npm test`) when MONGODB_URI is not set, so a
 * newcomer needs no database of their own. In order:
 *  1. a real mongod through mongodb-memory-server, data in <dataDir>/mongodb. Its binary is
 *     downloaded once, which air-gapped machines and many CI runners cannot do;
 *  2. FerretDB 1.24 (MongoDB wire protocol on SQLite), data in <dataDir>/ferretdb: the binary from
 *     FERRETDB_BIN (config ferretdbBin) or ~/.cache/keyward, else built there once from the Go module proxy by
 *     scripts/ferretdb.sh when Go is installed.
 * A data directory that already holds FerretDB's data (and no mongod's) goes straight to FerretDB,
 * so the data stays where it was. One log line names the server that runs and where its data lives.
 * When neither can be had, EmbeddedDatabaseUnavailable says why for each.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import {
  accessSync,
  closeSync,
  constants,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer, connect } from 'node:net';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../logging/logger.ts';

export class EmbeddedDatabaseUnavailable extends Error {
  override name = 'EmbeddedDatabaseUnavailable';
}

export interface EmbeddedDatabase {
  /** Which server runs, for people: "mongod (mongodb-memory-server)" or "FerretDB v1.24.2 (SQLite)". */
  server: string;
  /** mongodb://127.0.0.1:<port>/<database> */
  uri: string;
  dataPath: string;
  stop(): Promise<void>;
}

export const FERRETDB_VERSION = 'v1.24.2';
const FERRETDB_SCRIPT = fileURLToPath(new URL('../../../scripts/ferretdb.sh', import.meta.url));
const MONGOD_DOWNLOAD_TIMEOUT_MS = 120_000;

/** An error as one short line (mongodb-memory-server's download errors span several). */
const oneLine = (err: unknown) =>
  String((err as Error)?.message ?? err)
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, 300);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface EmbeddedOptions {
  /** The database name in the answered URI (default keyward). */
  database?: string;
  /** FerretDB binary (default ~/.cache/keyward/ferretdb-v1.24.2, built there when missing). */
  ferretdbBin?: string;
}

export async function startEmbeddedDatabase(
  dataDir: string,
  logger: Logger,
  opts: EmbeddedOptions = {},
): Promise<EmbeddedDatabase> {
  const database = opts.database ?? 'keyward';
  const mongodPath = resolve(dataDir, 'mongodb');
  const ferretPath = resolve(dataDir, 'ferretdb');
  const hasFiles = (dir: string, name?: string) =>
    existsSync(dir) && readdirSync(dir).some((f) => !name || f === name);
  const ferretOnly = hasFiles(ferretPath) && !hasFiles(mongodPath, 'WiredTiger');

  let mongodReason = 'skipped: this data directory holds FerretDB data';
  if (!ferretOnly) {
    try {
      const db = await startMongod(mongodPath, database);
      logger.info(
        { event: 'db.embedded', server: db.server, dataPath: db.dataPath },
        `embedded database: ${db.server}, data in ${db.dataPath}`,
      );
      return db;
    } catch (err) {
      mongodReason = oneLine(err);
    }
  }
  try {
    const db = await startFerretDb(
      ferretPath,
      database,
      ferretDbBinaryPath(opts.ferretdbBin),
      logger,
    );
    logger.info(
      { event: 'db.embedded', server: db.server, dataPath: db.dataPath, mongod: mongodReason },
      `embedded database: ${db.server}, data in ${db.dataPath}${ferretOnly ? '' : ' (no mongod could be had)'}`,
    );
    return db;
  } catch (err) {
    throw new EmbeddedDatabaseUnavailable(
      `  - mongod (mongodb-memory-server): ${mongodReason}\n  - FerretDB ${FERRETDB_VERSION}: ${oneLine(err)}`,
    );
  }
}

async function startMongod(dbPath: string, database: string): Promise<EmbeddedDatabase> {
  const { MongoBinary, MongoMemoryServer } = await import('mongodb-memory-server-core');
  // Finding (or downloading) the binary first keeps mongodb-memory-server from printing a stack trace when it cannot.
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`no mongod binary within ${MONGOD_DOWNLOAD_TIMEOUT_MS / 1000} s`)),
      MONGOD_DOWNLOAD_TIMEOUT_MS,
    );
  });
  const lookup = MongoBinary.getPath();
  lookup.catch(() => undefined);
  try {
    await Promise.race([lookup, timeout]);
  } finally {
    clearTimeout(timer);
  }
  mkdirSync(dbPath, { recursive: true });
  const server = await MongoMemoryServer.create({
    instance: { dbPath, storageEngine: 'wiredTiger', ip: '127.0.0.1' },
  });
  return {
    server: 'mongod (mongodb-memory-server)',
    uri: server.getUri(database),
    dataPath: dbPath,
    stop: async () => {
      await server.stop({ doCleanup: false });
    },
  };
}

/** Whether `file` exists and may be executed. */
export function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Where the FerretDB binary is (or is built to): the one named, else ~/.cache/keyward/ferretdb-v1.24.2. */
export function ferretDbBinaryPath(named?: string): string {
  return named || join(homedir(), '.cache', 'keyward', `ferretdb-${FERRETDB_VERSION}`);
}

/** The FerretDB binary at `bin`, built there once by scripts/ferretdb.sh (Go, from the Go module proxy) when missing. */
export async function ensureFerretDbBinary(bin: string, logger: Logger): Promise<string> {
  if (isExecutable(bin)) return bin;
  logger.info(
    { event: 'db.ferretdb_build', bin },
    `no FerretDB at ${bin}: building ${FERRETDB_VERSION} with Go (once; about two minutes)`,
  );
  const build = spawn('bash', [FERRETDB_SCRIPT, 'build', bin], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (b: Buffer) => {
    output = (output + b.toString()).slice(-4000);
  };
  build.stdout!.on('data', keep);
  build.stderr!.on('data', keep);
  const code = await new Promise<number | null>((r) => {
    build.on('close', r);
    build.on('error', () => r(-1));
  });
  if (code !== 0 || !isExecutable(bin)) {
    const last = output.trim().split('\n').filter(Boolean).slice(-1)[0] ?? `exit code ${code}`;
    throw new Error(
      `no binary at ${bin}, and building it failed: ${last.replace(/^ferretdb\.sh: /, '')}`,
    );
  }
  return bin;
}

/** A TCP port on 127.0.0.1 that nothing listens on now. */
export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as { port: number };
  await new Promise((r) => s.close(r));
  return port;
}

/** Whether something accepts connections on 127.0.0.1:`port` (within half a second). */
export function portOpen(port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect({ host: '127.0.0.1', port });
    const end = (ok: boolean) => {
      socket.destroy();
      done(ok);
    };
    socket.setTimeout(500, () => end(false));
    socket.once('connect', () => end(true));
    socket.once('error', () => end(false));
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

/** A FerretDB left running on this data directory by a Keyward that was killed: stopped, so it can be started again. */
async function stopLeftover(pidFile: string, dataPath: string): Promise<void> {
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  let cmdline = '';
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    /* gone, or not Linux */
  }
  if (pid > 0 && cmdline.includes('ferretdb') && cmdline.includes(`--state-dir=${dataPath}`)) {
    process.kill(pid, 'SIGTERM');
    for (let i = 0; i < 100 && alive(pid); i++) await sleep(100);
    if (alive(pid)) process.kill(pid, 'SIGKILL');
  }
  rmSync(pidFile, { force: true });
}

async function startFerretDb(
  dataPath: string,
  database: string,
  binPath: string,
  logger: Logger,
): Promise<EmbeddedDatabase> {
  const bin = await ensureFerretDbBinary(binPath, logger);
  mkdirSync(dataPath, { recursive: true });
  const pidFile = join(dataPath, 'ferretdb.pid');
  const logFile = join(dataPath, 'ferretdb.log');
  await stopLeftover(pidFile, dataPath);
  const port = await freePort();
  const log = openSync(logFile, 'a');
  let child: ChildProcess;
  try {
    // Its own process group: Ctrl-C in a terminal reaches Keyward, which stops FerretDB after its last request.
    child = spawn(
      bin,
      [
        '--handler=sqlite',
        `--sqlite-url=file:${dataPath}/`,
        `--state-dir=${dataPath}`,
        `--listen-addr=127.0.0.1:${port}`,
        '--debug-addr=-',
        '--telemetry=disable',
        '--log-level=warn',
      ],
      { stdio: ['ignore', log, log], detached: true },
    );
  } finally {
    closeSync(log);
  }
  let exited = false;
  const exit = new Promise<void>((r) => {
    child.once('exit', () => {
      exited = true;
      r();
    });
    child.once('error', () => {
      exited = true;
      r();
    });
  });
  writeFileSync(pidFile, `${child.pid}\n`);
  // A safety net if the process ends without close(): a FerretDB must not outlive the Keyward that started it.
  const onExit = () => {
    if (!exited) child.kill('SIGTERM');
  };
  process.once('exit', onExit);

  const stop = async () => {
    process.off('exit', onExit);
    if (!exited) {
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exit;
      clearTimeout(killer);
    }
    rmSync(pidFile, { force: true });
  };

  const deadline = Date.now() + 30_000;
  while (!(await portOpen(port))) {
    if (exited || Date.now() > deadline) {
      await stop();
      const tail = readFileSync(logFile, 'utf8').trim().split('\n').slice(-1)[0] ?? '';
      throw new Error(`${bin} did not start (log ${logFile}${tail ? `: ${tail}` : ''})`);
    }
    await sleep(100);
  }
  return {
    server: `FerretDB ${FERRETDB_VERSION} (SQLite)`,
    uri: `mongodb://127.0.0.1:${port}/${database}`,
    dataPath,
    stop,
  };
}
