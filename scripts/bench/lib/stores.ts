/**
 * The MongoDB-wire stores Keyward is measured on, each started by the benchmark and stopped after:
 * - stock FerretDB 1.24 on SQLite (the project's CI database; it uses no index for lookups), through
 *   scripts/ferretdb.sh, in a fresh data folder;
 * - mongo-java-server 1.47.0 with its in-memory backend (Maven Central), which answers `_id` lookups
 *   from its unique `_id` index: the stand-in for a store that indexes (nothing here runs a mongod).
 * Downloads are cached under ~/.cache/keyward/.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';
import { createConnection } from 'node:net';
import {
  freePort,
  outputOf,
  startProcess,
  stopProcess,
  waitUntil,
  type Started,
} from './processes.ts';
import { findJava } from './java.ts';

export const CACHE = join(homedir(), '.cache', 'keyward');
export const BENCH_CACHE = join(CACHE, 'bench');
export const MAVEN_REPO = join(CACHE, 'm2');
const HERE = fileURLToPath(new URL('.', import.meta.url));
const REPO_ROOT = resolve(HERE, '../../..');

export interface Store {
  /** 'ferretdb' or 'mongo-java-server'. */
  kind: StoreKind;
  label: string;
  version: string;
  port: number;
  /** The server process (for CPU and memory), when the benchmark started it. */
  pid?: number;
  stop(): Promise<void>;
}
export type StoreKind = 'ferretdb' | 'mongo-java-server';

const portOpen = (port: number) => () =>
  new Promise<boolean>((r) => {
    const s = createConnection({ host: '127.0.0.1', port }, () => {
      s.end();
      r(true);
    });
    s.on('error', () => r(false));
  });

export interface FerretOptions {
  bin: string;
  port?: number;
  dir?: string;
  logDir: string;
}

/** Stock FerretDB 1.24 on SQLite in a fresh folder (emptied first when one is given). */
export async function startFerretDb(o: FerretOptions): Promise<Store> {
  if (!existsSync(o.bin))
    throw new Error(
      `FerretDB binary not found at ${o.bin} (build it with \`bash scripts/ferretdb.sh build\`)`,
    );
  const port = o.port ?? (await freePort());
  const dir = o.dir ?? mkdtempSync(join(tmpdir(), 'kw-bench-ferretdb-'));
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const version = /version:\s*(\S+)/.exec(outputOf(o.bin, ['--version']))?.[1] ?? 'unknown';
  // The same flags as scripts/ferretdb.sh (never report to the vendor), run in the foreground here.
  const p = startProcess(
    o.bin,
    [
      '--handler=sqlite',
      `--sqlite-url=file:${dir}/`,
      `--state-dir=${dir}`,
      `--listen-addr=127.0.0.1:${port}`,
      '--debug-addr=-',
      '--telemetry=disable',
      '--log-level=warn',
    ],
    { env: { ...process.env, DO_NOT_TRACK: '1' }, logFile: join(o.logDir, 'ferretdb.log') },
  );
  await waitUntil(portOpen(port), 'FerretDB', 30000, p);
  return {
    kind: 'ferretdb',
    label: `FerretDB ${version} (SQLite)`,
    version,
    port,
    pid: p.pid,
    async stop() {
      await stopProcess(p);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export const MJS_VERSION = '1.47.0';
const MJS_DIR = join(BENCH_CACHE, `mongo-java-server-${MJS_VERSION}`);
const MJS_SRC = join(HERE, '..', 'mongo-java-server');

/** Fetches mongo-java-server and its dependencies (once) and compiles the launcher; answers the classpath. */
export function prepareMongoJavaServer(javaHome: string): string {
  const jars = () =>
    existsSync(MJS_DIR) ? readdirSync(MJS_DIR).filter((f) => f.endsWith('.jar')) : [];
  if (!jars().some((f) => f.startsWith('mongo-java-server-memory-backend'))) {
    process.stderr.write(
      `bench: fetching mongo-java-server ${MJS_VERSION} from Maven Central into ${MJS_DIR}\n`,
    );
    execFileSync(
      'mvn',
      [
        '-q',
        '-B',
        `-Dmaven.repo.local=${MAVEN_REPO}`,
        '-f',
        join(MJS_SRC, 'pom.xml'),
        'dependency:copy-dependencies',
        `-DoutputDirectory=${MJS_DIR}`,
      ],
      { stdio: 'inherit', env: { ...process.env, JAVA_HOME: javaHome } },
    );
  }
  const classes = join(MJS_DIR, 'classes');
  const cp = jars()
    .map((f) => join(MJS_DIR, f))
    .join(':');
  mkdirSync(classes, { recursive: true });
  execFileSync(
    join(javaHome, 'bin', 'javac'),
    ['-d', classes, '-cp', cp, join(MJS_SRC, 'BenchMongoServer.java')],
    { stdio: 'inherit' },
  );
  return `${classes}:${cp}`;
}

/** mongo-java-server (memory backend) on a free port; it ends with the benchmark (its stdin closes). */
export async function startMongoJavaServer(o: { port?: number; logDir: string }): Promise<Store> {
  const java = findJava(17);
  if (!java)
    throw new Error('mongo-java-server needs Java 17+: none found in JAVA_HOME or /usr/lib/jvm');
  const cp = prepareMongoJavaServer(java.home);
  const port = o.port ?? (await freePort());
  const p: Started = startProcess(
    join(java.home, 'bin', 'java'),
    [
      '-Xmx4g',
      '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn',
      '-cp',
      cp,
      'BenchMongoServer',
      String(port),
    ],
    { logFile: join(o.logDir, 'mongo-java-server.log') },
  );
  await waitUntil(portOpen(port), 'mongo-java-server', 60000, p);
  return {
    kind: 'mongo-java-server',
    label: `mongo-java-server ${MJS_VERSION} (memory backend, Java ${java.version})`,
    version: MJS_VERSION,
    port,
    pid: p.pid,
    stop: () => stopProcess(p),
  };
}

export const defaultFerretBin = () => process.env.FERRETDB_BIN ?? join(CACHE, 'ferretdb-v1.24.2');
export { REPO_ROOT };
