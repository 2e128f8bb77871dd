/**
 * `npm test`: sets up what the test suite needs on a fresh machine, runs the type check, the linter,
 * the formatting check (Prettier) and jest, and stops what it started. `.ci/run` calls exactly this
 * (after `npm ci`).
 *
 * Set-up, each step skipped when it is already satisfied:
 *  1. Debian packages the tests use (SYSTEM_PACKAGES below), installed with apt-get when running as
 *     root on Debian (CI); elsewhere the missing ones are named with the command that installs them.
 *     KEYWARD_TEST_NO_INSTALL=1 only names them.
 *  2. The FerretDB binary (FERRETDB_BIN, default ~/.cache/keyward/ferretdb-v1.24.2), built once with
 *     Go: tests that stop and restart a database of their own use it.
 *  3. The database: MONGODB_URI when set, else the embedded chain of `npm start` (mongod through
 *     mongodb-memory-server, else FerretDB) in a temporary directory, removed at the end.
 * Exported to the tests: MONGODB_URI, FERRETDB_BIN, CHROMIUM_PATH.
 *
 * Arguments go to jest: `npm test -- test/sign-in/`. The exit status is the first failing
 * step's (or 0); SIGINT/SIGTERM stop the running step and the database, then exit 130/143. The last
 * lines are jest's counts as one plain line ("jest: N passed, N failed, N skipped") and the status.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger } from '../src/platform/logging/logger.ts';
import {
  ensureFerretDbBinary,
  ferretDbBinaryPath,
  startEmbeddedDatabase,
  type EmbeddedDatabase,
} from '../src/platform/db/embedded.ts';

/** Debian packages the tests need, and which tests: add a line to add one (e.g. slapd for LDAP tests). */
const SYSTEM_PACKAGES: { name: string; usedBy: string }[] = [
  { name: 'chromium', usedBy: 'browser tests (WebAuthn, device flow, screenshots)' },
  { name: 'oathtool', usedBy: 'TOTP tests (codes from an independent implementation)' },
  { name: 'openssh-client', usedBy: 'SSH key and certificate tests (ssh-keygen, ssh)' },
  { name: 'openssh-server', usedBy: 'tests against a real sshd' },
  { name: 'curl', usedBy: 'the sshd AuthorizedKeysCommand script' },
  { name: 'python3', usedBy: 'the platform Python SDK test (CLIAuth running keyward)' },
  {
    name: 'python3-venv',
    usedBy: 'the platform Python SDK test (the SDK is installed from PyPI into a venv)',
  },
  { name: 'slapd', usedBy: 'LDAP sign-in tests (a real OpenLDAP directory)' },
  { name: 'ldap-utils', usedBy: 'LDAP sign-in tests (ldapadd loads the test directory)' },
];

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const say = (line: string) => process.stdout.write(`\n==> ${line}\n`);
const logger = createLogger('info', {
  write: (line: string) => {
    say(String((JSON.parse(line) as { msg?: string }).msg));
  },
});
const started = Date.now();

let database: EmbeddedDatabase | undefined;
let dataDir: string | undefined;
let step: ChildProcess | undefined;
let stopping = false;

async function cleanUp(): Promise<void> {
  await database
    ?.stop()
    .catch((err: unknown) =>
      process.stderr.write(`could not stop the test database: ${String(err)}\n`),
    );
  database = undefined;
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
}

for (const [signal, code] of [
  ['SIGINT', 130],
  ['SIGTERM', 143],
] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    say(`${signal}: stopping the running step and the test database`);
    // The step's whole process group: npm, its shell, and what that started (jest workers, Chromium, sshd).
    if (step?.pid)
      try {
        process.kill(-step.pid, signal);
      } catch {
        /* already gone */
      }
    void cleanUp().finally(() => process.exit(code));
  });
}

const installed = (pkg: string) =>
  spawnSync('dpkg-query', ['-W', '-f=${Status}', pkg], { encoding: 'utf8' }).stdout?.includes(
    'ok installed',
  );

function installSystemPackages(): void {
  if (!existsSync('/usr/bin/dpkg-query')) {
    say(
      `not Debian: make sure these are installed: ${SYSTEM_PACKAGES.map((p) => p.name).join(' ')}`,
    );
    return;
  }
  const missing = SYSTEM_PACKAGES.filter((p) => !installed(p.name));
  if (!missing.length) {
    say(`system packages present: ${SYSTEM_PACKAGES.map((p) => p.name).join(' ')}`);
    return;
  }
  const names = missing.map((p) => p.name);
  if (process.getuid?.() !== 0 || process.env.KEYWARD_TEST_NO_INSTALL === '1') {
    say(
      `missing system packages (the tests that use them will fail): ${names.join(' ')}\n` +
        missing.map((p) => `    ${p.name}: ${p.usedBy}`).join('\n') +
        `\n    install them with: sudo apt-get install ${names.join(' ')}`,
    );
    return;
  }
  say(`installing system packages: ${names.join(' ')}`);
  // Keep the packages' postinst scripts from starting daemons (sshd on port 22).
  const policy = '/usr/sbin/policy-rc.d';
  const ownPolicy = !existsSync(policy);
  if (ownPolicy) writeFileSync(policy, '#!/bin/sh\nexit 101\n', { mode: 0o755 });
  try {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    for (let attempt = 1; attempt <= 3; attempt++) {
      const update = spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
      const install =
        update.status === 0 &&
        spawnSync('apt-get', ['install', '-y', '-qq', ...names], {
          stdio: ['ignore', 'ignore', 'inherit'],
          env,
        });
      if (install && install.status === 0) return;
      say(`apt-get failed (attempt ${attempt} of 3)`);
      spawnSync('sleep', [String(attempt * 5)]);
    }
    throw new Error(`could not install: ${names.join(' ')}`);
  } finally {
    if (ownPolicy) unlinkSync(policy);
  }
}

/** Runs one step (`npm run <script> [-- args]`); answers its exit status. */
function run(script: string, args: string[] = []): Promise<number> {
  say(`npm run ${script}${args.length ? ` -- ${args.join(' ')}` : ''}`);
  return new Promise((resolve) => {
    step = spawn('npm', ['run', script, ...(args.length ? ['--', ...args] : [])], {
      cwd: ROOT,
      stdio: ['ignore', 'inherit', 'inherit'],
      detached: true,
    });
    step.on('error', (err) => {
      process.stderr.write(`cannot run npm: ${err.message}\n`);
      resolve(1);
    });
    step.on('close', (code, signal) => resolve(code ?? (signal ? 128 + 15 : 1)));
  });
}

async function main(): Promise<number> {
  installSystemPackages();
  process.env.CHROMIUM_PATH ??= '/usr/bin/chromium';

  const ferretdbBin = ferretDbBinaryPath(process.env.FERRETDB_BIN);
  try {
    await ensureFerretDbBinary(ferretdbBin, logger);
    process.env.FERRETDB_BIN = ferretdbBin;
  } catch (err) {
    say(`FerretDB: ${(err as Error).message} (the tests that start their own FerretDB will fail)`);
  }

  if (process.env.MONGODB_URI) {
    say(`database: MONGODB_URI=${process.env.MONGODB_URI}`);
  } else {
    dataDir = mkdtempSync(join(tmpdir(), 'keyward-test-db-'));
    database = await startEmbeddedDatabase(dataDir, logger, {
      database: 'keyward_test',
      ferretdbBin,
    });
    process.env.MONGODB_URI = database.uri;
  }
  say(
    `MONGODB_URI=${process.env.MONGODB_URI} FERRETDB_BIN=${process.env.FERRETDB_BIN ?? '(none)'} CHROMIUM_PATH=${process.env.CHROMIUM_PATH}`,
  );

  for (const script of ['typecheck', 'lint', 'format:check'] as const) {
    const status = await run(script);
    if (status !== 0 || stopping) return status;
  }
  const results = join(mkdtempSync(join(tmpdir(), 'keyward-jest-')), 'results.json');
  const status = await run('jest', [...process.argv.slice(2), '--json', `--outputFile=${results}`]);
  summarize(results);
  return status;
}

/** One plain closing line with jest's counts ("jest: N passed, N failed, N skipped"), for CI to read. */
function summarize(file: string): void {
  try {
    const r = JSON.parse(readFileSync(file, 'utf8')) as {
      numPassedTests: number;
      numFailedTests: number;
      numPendingTests: number;
      numTodoTests: number;
    };
    process.stdout.write(
      `\njest: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + r.numTodoTests} skipped\n`,
    );
  } catch {
    // jest did not get as far as writing its results; its own output says why.
  } finally {
    rmSync(dirname(file), { recursive: true, force: true });
  }
}

let status = 1;
try {
  status = await main();
} catch (err) {
  process.stderr.write(
    `\nnpm test: ${(err as Error).message}\n` +
      (process.env.MONGODB_URI
        ? ''
        : 'Set MONGODB_URI to a MongoDB or FerretDB server to run the tests against it.\n'),
  );
} finally {
  if (!stopping) await cleanUp();
}
if (!stopping) {
  say(`npm test: exit status ${status} (${Math.round((Date.now() - started) / 1000)} s)`);
  process.exit(status);
}
