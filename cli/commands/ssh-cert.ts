/**
 * `keyward ssh-cert [--key ~/.ssh/id_ed25519.pub] [--validity 1h]`: asks Keyward
 * (POST /api/ssh/certificates) for a short-lived OpenSSH certificate for a public key and writes
 * it next to the key as `<name>-cert.pub`, where `ssh` picks it up by itself. Only the public key
 * is ever read or sent.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { callApi, type ApiEnv } from '../api.ts';
import { CliError, usage } from '../errors.ts';
import type { Io } from './login.ts';

/** Keys `ssh` tries by default, in its order; the first one present is used when --key is not given. */
const DEFAULT_KEYS = ['id_ed25519', 'id_ecdsa', 'id_ed25519_sk', 'id_ecdsa_sk', 'id_rsa'];
const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };
const MIN_SECONDS = 60;
const MAX_SECONDS = 86400;

interface Issued {
  certificate: string;
  serial: number;
  keyId: string;
  principals: string[];
  validAfter: string;
  validBefore: string;
}

/** `90s`, `30m`, `1h`, `1d` or plain seconds, 60 s to 24 h. */
export function parseValidity(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const m = /^(\d{1,6})([smhd]?)$/.exec(raw.trim());
  const seconds = m ? Number(m[1]) * UNITS[m[2] || 's'] : NaN;
  if (!(seconds >= MIN_SECONDS && seconds <= MAX_SECONDS))
    throw usage(
      `--validity must be a duration from 60s to 24h, like 30m, 1h or 8h (got "${raw}").`,
    );
  return seconds;
}

const expand = (p: string) => (p === '~' || p.startsWith('~/') ? join(homedir(), p.slice(1)) : p);

/** The public key file to certify: --key (a .pub file, or a private key path whose .pub exists), or ssh's default key. */
export function publicKeyPath(key: string | undefined): string {
  if (key) {
    const path = expand(key);
    if (!path.endsWith('.pub') && existsSync(`${path}.pub`)) return `${path}.pub`;
    if (!existsSync(path)) throw new CliError(`No such file: ${path}.`);
    return path;
  }
  const found = DEFAULT_KEYS.map((n) => join(homedir(), '.ssh', `${n}.pub`)).find((p) =>
    existsSync(p),
  );
  if (!found)
    throw new CliError(
      `No SSH public key found in ${join(homedir(), '.ssh')} (looked for ${DEFAULT_KEYS.map((n) => `${n}.pub`).join(', ')}).`,
      1,
      'Create one with `ssh-keygen -t ed25519`, or name it with --key.',
    );
  return found;
}

/** id_ed25519.pub → id_ed25519-cert.pub (what ssh looks for next to the private key). */
export function certificatePath(pubPath: string): string {
  const name = basename(pubPath);
  return join(dirname(pubPath), `${name.endsWith('.pub') ? name.slice(0, -4) : name}-cert.pub`);
}

function until(iso: string): string {
  return `${iso.slice(0, 16).replace('T', ' ')} UTC`;
}

export async function sshCert(
  env: ApiEnv,
  opts: { key?: string; validity?: string },
  format: 'json' | 'text',
  io: Io,
): Promise<void> {
  const validitySeconds = parseValidity(opts.validity);
  const pubPath = publicKeyPath(opts.key);
  const text = readFileSync(pubPath, 'utf8');
  if (/PRIVATE KEY-----|PuTTY-User-Key-File/.test(text)) {
    throw new CliError(
      `${pubPath} is a private key; keyward never sends private keys. Name the public key (the .pub file) with --key.`,
      2,
    );
  }
  const { body } = await callApi<Issued>(env, 'POST', '/api/ssh/certificates', {
    publicKey: text.trim(),
    ...(validitySeconds ? { validitySeconds } : {}),
  });
  const certPath = certificatePath(pubPath);
  const tmp = `${certPath}.${process.pid}.tmp`;
  writeFileSync(tmp, `${body.certificate}\n`, { mode: 0o644 });
  renameSync(tmp, certPath);
  if (format === 'json') return io.out(JSON.stringify({ ...body, path: certPath }));
  io.err(
    `✓ Wrote ${certPath}: serial ${body.serial}, principals ${body.principals.join(', ')}, valid until ${until(body.validBefore)}.`,
  );
  io.out(certPath);
}
