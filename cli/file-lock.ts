/**
 * A cross-process lock file (O_CREAT|O_EXCL), so that concurrent `keyward` processes never
 * rotate the same refresh token twice: the server treats a second use as theft and signs the
 * device out. The holder writes its pid, host and a nonce; a lock whose holder is gone (dead pid
 * on this host) or that is older than `staleMs` is taken over. Release removes only our own lock.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { CliError } from './errors.ts';

interface LockInfo {
  pid: number;
  host: string;
  nonce: string;
  at: number;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function readLock(path: string): { info?: LockInfo; raw: string; ageMs: number } | undefined {
  try {
    const raw = readFileSync(path, 'utf8');
    const ageMs = Date.now() - statSync(path).mtimeMs;
    try {
      return { info: JSON.parse(raw) as LockInfo, raw, ageMs };
    } catch {
      return { raw, ageMs };
    }
  } catch {
    return undefined;
  }
}

function holderGone(info: LockInfo | undefined): boolean {
  if (!info || info.host !== hostname()) return false;
  try {
    process.kill(info.pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

function tryCreate(path: string, info: LockInfo): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'wx', 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  try {
    writeSync(fd, JSON.stringify(info));
  } finally {
    closeSync(fd);
  }
  return true;
}

export async function withFileLock<T>(
  path: string,
  fn: () => Promise<T>,
  opts: { timeoutMs?: number; staleMs?: number } = {},
): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const staleMs = opts.staleMs ?? 120_000;
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const mine: LockInfo = {
    pid: process.pid,
    host: hostname(),
    nonce: randomBytes(12).toString('hex'),
    at: Date.now(),
  };
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 0; ; attempt++) {
    if (tryCreate(path, mine)) break;
    const held = readLock(path);
    if (held && (held.ageMs > staleMs || holderGone(held.info))) {
      // Take over only the lock we judged stale: if it changed meanwhile, someone else already did.
      if (readLock(path)?.raw === held.raw) rmSync(path, { force: true });
      continue;
    }
    if (Date.now() > deadline) {
      throw new CliError(
        `Timed out waiting for another keyward process to finish refreshing the sign-in (lock ${path}).`,
        undefined,
        'If no other keyward is running, delete that lock file and try again.',
      );
    }
    await sleep(Math.min(200, 10 + attempt * 5) + Math.random() * 20);
  }
  try {
    return await fn();
  } finally {
    if (readLock(path)?.info?.nonce === mine.nonce) rmSync(path, { force: true });
  }
}
