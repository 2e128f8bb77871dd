/**
 * Helpers for SSH certificate tests: OpenSSH's own tools read what Keyward issues
 * (`ssh-keygen -L` for certificates, `ssh-keygen -Q` against a KRL), and a real sshd on a
 * loopback port (the minimal bits of test/ssh-keys/ssh-sshd.test.ts, copied rather than shared).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { freePort } from './keyward.ts';

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command without blocking the event loop (Keyward answers from this same process). */
export function run(
  cmd: string,
  args: string[],
  opts: { timeoutMs?: number; env?: Record<string, string> } = {},
): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...opts.env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 30_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

export interface KeygenListing {
  type: string;
  publicKey: string;
  signingCa: string;
  keyId: string;
  serial: string;
  valid: string;
  principals: string[];
  criticalOptions: string[];
  extensions: string[];
}

/** `ssh-keygen -L -f <cert>` (in UTC), parsed into its fields. */
export async function keygenList(certFile: string): Promise<KeygenListing> {
  const res = await run('ssh-keygen', ['-L', '-f', certFile], { env: { TZ: 'UTC' } });
  if (res.code !== 0) throw new Error(`ssh-keygen -L failed (${res.code}): ${res.stderr}`);
  const lines = res.stdout.split('\n').slice(1);
  const field = (name: string) =>
    lines
      .find((l) => l.trim().startsWith(`${name}:`))
      ?.trim()
      .slice(name.length + 1)
      .trim() ?? '';
  const block = (name: string) => {
    const start = lines.findIndex((l) => l.trim().startsWith(`${name}:`));
    if (field(name) === '(none)') return [];
    const out: string[] = [];
    for (const l of lines.slice(start + 1)) {
      if (!/^\s{16}\S/.test(l)) break;
      out.push(l.trim());
    }
    return out;
  };
  return {
    type: field('Type'),
    publicKey: field('Public key'),
    signingCa: field('Signing CA'),
    keyId: field('Key ID'),
    serial: field('Serial'),
    valid: field('Valid'),
    principals: block('Principals'),
    criticalOptions: block('Critical Options'),
    extensions: block('Extensions'),
  };
}

/** `ssh-keygen -Q -f <krl> <cert>`: true when the KRL revokes the certificate. */
export async function revokedByKrl(krlFile: string, certFile: string): Promise<boolean> {
  const res = await run('ssh-keygen', ['-Q', '-f', krlFile, certFile]);
  if (res.code === 0 && /: ok$/m.test(res.stdout)) return false;
  if (/REVOKED/.test(res.stdout)) return true;
  throw new Error(`ssh-keygen -Q answered ${res.code}: ${res.stdout}${res.stderr}`);
}

/** `YYYY-MM-DDTHH:MM:SS` (as ssh-keygen prints validity in UTC) of an epoch-seconds value. */
export const keygenTime = (d: Date | string) => new Date(d).toISOString().slice(0, 19);

const SSHD = '/usr/sbin/sshd';

export interface Sshd {
  dir: string;
  port: number;
  log(): string;
  stop(): Promise<void>;
}

async function waitForPort(port: number, log: () => string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline)
      throw new Error(`sshd did not start listening on ${port}:\n${log()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Creates the Unix user when missing; answers whether it was created here (so it can be removed). */
export function ensureUnixUser(name: string): boolean {
  if (process.getuid?.() !== 0)
    throw new Error('This test starts sshd and creates a Unix user: run it as root (CI does).');
  if (!existsSync(SSHD))
    throw new Error(
      `${SSHD} not found: install Debian's openssh-server (apt-get install openssh-server openssh-client).`,
    );
  if (spawnSync('id', [name]).status === 0) return false;
  const made = spawnSync('useradd', [
    '--create-home',
    '--shell',
    '/bin/sh',
    '--password',
    '*',
    name,
  ]);
  if (made.status !== 0) throw new Error(`useradd ${name} failed: ${made.stderr.toString()}`);
  return true;
}

/**
 * Starts sshd on a loopback port with `lines` added to a minimal, public-key-only configuration.
 * Its directory is root-owned and 0700 under /run (sshd runs an AuthorizedKeysCommand only when
 * it and every parent directory are root-owned and not group/world-writable, which /tmp is not);
 * `lines(dir)` may place such files there before sshd starts.
 */
export async function startSshd(
  allowUser: string,
  lines: (dir: string) => string[],
): Promise<Sshd> {
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 }); // privilege-separation directory
  const dir = mkdtempSync('/run/keyward-sshd-test-');
  chmodSync(dir, 0o700);
  const host = spawnSync('ssh-keygen', [
    '-q',
    '-t',
    'ed25519',
    '-N',
    '',
    '-f',
    join(dir, 'host_ed25519'),
  ]);
  if (host.status !== 0) throw new Error(host.stderr.toString());
  const port = await freePort();
  writeFileSync(
    join(dir, 'sshd_config'),
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${join(dir, 'host_ed25519')}`,
      'PidFile none',
      ...lines(dir),
      'PubkeyAuthentication yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      'StrictModes no',
      `AllowUsers ${allowUser}`,
      'UseDNS no',
      'LogLevel VERBOSE',
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  const check = spawnSync(SSHD, ['-t', '-f', join(dir, 'sshd_config')]);
  if (check.status !== 0) throw new Error(`sshd -t: ${check.stderr.toString()}`);
  let log = '';
  const sshd: ChildProcess = spawn(SSHD, ['-D', '-e', '-f', join(dir, 'sshd_config')], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  sshd.stderr!.on('data', (d: Buffer) => {
    log += d.toString();
  });
  await waitForPort(port, () => log);
  return {
    dir,
    port,
    log: () => log,
    async stop() {
      if (sshd.exitCode === null) {
        const exited = new Promise((r) => sshd.once('exit', r));
        sshd.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** `ssh user@127.0.0.1 true` with one key (and its certificate, if given), nothing else (no agent, no config). */
export function sshLogin(
  port: number,
  user: string,
  keyFile: string,
  certFile?: string,
): Promise<RunResult> {
  return run('ssh', [
    '-F',
    '/dev/null',
    '-i',
    keyFile,
    ...(certFile ? ['-o', `CertificateFile=${certFile}`] : []),
    '-p',
    String(port),
    '-o',
    'StrictHostKeyChecking=no',
    '-o',
    'UserKnownHostsFile=/dev/null',
    '-o',
    'BatchMode=yes',
    '-o',
    'IdentitiesOnly=yes',
    '-o',
    'IdentityAgent=none',
    '-o',
    'PreferredAuthentications=publickey',
    '-o',
    'ConnectTimeout=10',
    '-o',
    'LogLevel=ERROR',
    `${user}@127.0.0.1`,
    'true',
  ]);
}
