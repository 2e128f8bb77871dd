/**
 * The shape of personal credentials (contract §5.1, security-and-formats "API keys and tokens"):
 *
 *   pwt_<base64url(host)>.<secret>    API key         (Basic base64("<key>:"), or Bearer)
 *   pwut_<base64url(host)>.<secret>   CLI user token  (Bearer, or Basic username)
 *
 * `host` is this deployment's public base URL: the bare host name for plain https on port 443,
 * otherwise the full URL with scheme and port, so the SDKs find the server from the key alone.
 * `secret` is 32 base62 characters from a CSPRNG (≈190 bits) followed by a 6-character base62
 * CRC32 of everything before it, so a scanner can recognise a real credential offline and the
 * server can refuse a mistyped or forged one before touching the database.
 * Only the SHA-256 digest of the whole string is stored.
 */
import { createHash, randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';

export type CredentialKind = 'apikey' | 'token';

export const PREFIXES: Record<CredentialKind, string> = { apikey: 'pwt_', token: 'pwut_' };

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
export const RANDOM_LENGTH = 32;
export const CHECKSUM_LENGTH = 6;
const SECRET_LENGTH = RANDOM_LENGTH + CHECKSUM_LENGTH;

/** The published format (README): what a secret scanner should match. */
export const API_KEY_PATTERN = /^pwt_[A-Za-z0-9_-]+\.[0-9A-Za-z]{38}$/;
export const USER_TOKEN_PATTERN = /^pwut_[A-Za-z0-9_-]+\.[0-9A-Za-z]{38}$/;

/** The host segment for a base URL: bare host for https:443 without a path, else the full URL. */
export function hostForBaseUrl(baseUrl: string): string {
  const url = new URL(baseUrl);
  const path = url.pathname.replace(/\/+$/, '');
  if (url.protocol === 'https:' && !url.port && !path) return url.hostname;
  return `${url.protocol}//${url.host}${path}`;
}

export function encodeHost(host: string): string {
  return Buffer.from(host, 'utf8').toString('base64url');
}

/** Decodes a host segment as the SDKs do: base64url first, then standard base64; padding optional. */
export function decodeHost(segment: string): string | undefined {
  const attempts: [RegExp, BufferEncoding][] = [
    [/^[A-Za-z0-9_-]+={0,2}$/, 'base64url'],
    [/^[A-Za-z0-9+/]+={0,2}$/, 'base64'],
  ];
  for (const [shape, encoding] of attempts) {
    if (!shape.test(segment)) continue;
    const host = Buffer.from(segment.replace(/=+$/, ''), encoding).toString('utf8');
    // A real host: printable ASCII, no spaces, and it survives a round trip (no stray bits).
    if (
      host &&
      /^[\x21-\x7e]+$/.test(host) &&
      encodeHost(host) === segment.replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_')
    )
      return host;
  }
  return undefined;
}

export function base62(bytes: number): string {
  let out = '';
  while (out.length < bytes) {
    for (const b of randomBytes(bytes * 2)) {
      // 248 = 62 * 4: rejecting larger bytes keeps every character equally likely.
      if (b < 248 && out.length < bytes) out += BASE62[b % 62];
    }
  }
  return out;
}

function checksum(body: string): string {
  let n = crc32(Buffer.from(body, 'utf8'));
  let out = '';
  for (let i = 0; i < CHECKSUM_LENGTH; i++) {
    out = BASE62[n % 62] + out;
    n = Math.floor(n / 62);
  }
  return out;
}

/** A new credential of `kind` naming `host`. */
export function generateCredential(kind: CredentialKind, host: string): string {
  const body = `${PREFIXES[kind]}${encodeHost(host)}.${base62(RANDOM_LENGTH)}`;
  return body + checksum(body);
}

export interface ParsedCredential {
  kind: CredentialKind;
  host: string;
  digest: string;
}
export type ParseResult =
  { ok: true; credential: ParsedCredential } | { ok: false; reason: string };

/** The kind a string claims to be by its prefix (nothing for other credentials, e.g. OAuth tokens). */
export function kindOf(value: string): CredentialKind | undefined {
  if (value.startsWith(PREFIXES.token)) return 'token';
  if (value.startsWith(PREFIXES.apikey)) return 'apikey';
  return undefined;
}

/** Checks prefix, host encoding, secret alphabet and length, and the checksum. Pure: no I/O. */
export function parseCredential(raw: string): ParseResult {
  const value = raw.trim();
  const kind = kindOf(value);
  if (!kind)
    return {
      ok: false,
      reason: 'not a Keyward API key or token (expected the pwt_ or pwut_ prefix)',
    };
  const rest = value.slice(PREFIXES[kind].length);
  const dot = rest.indexOf('.');
  if (dot <= 0) return { ok: false, reason: 'malformed credential (no host segment)' };
  const host = decodeHost(rest.slice(0, dot));
  if (!host)
    return { ok: false, reason: 'malformed credential (the host segment is not valid base64)' };
  const secret = rest.slice(dot + 1);
  if (secret.length !== SECRET_LENGTH || !/^[0-9A-Za-z]+$/.test(secret))
    return { ok: false, reason: 'malformed credential (bad secret)' };
  if (checksum(value.slice(0, -CHECKSUM_LENGTH)) !== secret.slice(RANDOM_LENGTH))
    return { ok: false, reason: 'malformed credential (checksum mismatch)' };
  return { ok: true, credential: { kind, host, digest: digestOf(value) } };
}

/** What is stored and looked up: SHA-256 of the whole credential (it has ≥160 bits of entropy). */
export function digestOf(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}

/** A short, non-secret reminder of which credential this is: prefix … last four characters. */
export function hintOf(value: string): string {
  return `${PREFIXES[kindOf(value) ?? 'apikey']}…${value.slice(-4)}`;
}
