/**
 * Reads one pasted SSH public key (OpenSSH one-line format, or RFC 4716 "SSH2 PUBLIC KEY") and
 * answers it normalised — type, key blob, comment, size and the fingerprint `ssh-keygen -l`
 * prints — or refuses it with a message that says what is wrong. Pasted private keys are
 * recognised and refused without the text ever reaching a message or a log.
 * sshpk validates RSA, ECDSA and Ed25519 keys; FIDO (`sk-*`) keys, which sshpk does not know, are
 * decoded from their wire format here.
 */
import { createPublicKey } from 'node:crypto';
import sshpk from 'sshpk';
import { AppError } from '../errors/app-error.ts';
import { WireReader, sshFingerprint } from './ssh-wire.ts';

export const ACCEPTED_KEY_TYPES = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'sk-ssh-ed25519@openssh.com',
  'sk-ecdsa-sha2-nistp256@openssh.com',
  'ssh-rsa',
] as const;
export type SshKeyType = (typeof ACCEPTED_KEY_TYPES)[number];

export const MIN_RSA_BITS = 2048;
const MAX_RSA_BITS = 16384;
/** The longest text accepted as one public key (the largest RSA key is about 2,800 characters). */
export const MAX_PUBLIC_KEY_TEXT = 16 * 1024;
/** The REST schemas' message for a longer one. */
export const PUBLIC_KEY_TOO_LONG = `is too long: more than ${MAX_PUBLIC_KEY_TEXT} characters, far longer than any SSH public key; paste a single key (one line from the .pub file)`;

export interface ParsedPublicKey {
  type: SshKeyType;
  /** The key blob (RFC 4253 §6.6 encoding). */
  blob: Buffer;
  comment: string;
  bits: number;
  /** `SHA256:…`, exactly as `ssh-keygen -l` prints it. */
  fingerprint: string;
}

const ACCEPTED_LIST =
  'ssh-ed25519, ecdsa-sha2-nistp256/384/521, sk-ssh-ed25519@openssh.com, sk-ecdsa-sha2-nistp256@openssh.com or ssh-rsa';
const PRIVATE_MARKERS =
  /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----|PuTTY-User-Key-File-|BEGIN SSH2 ENCRYPTED PRIVATE KEY/;
const TYPE_TOKEN =
  /^(ssh-[a-z0-9-]+|ecdsa-sha2-[a-z0-9-]+|sk-[a-z0-9@.-]+|rsa-sha2-\d+|[a-z0-9-]+-cert-v0\d@openssh\.com)$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

export const PRIVATE_KEY_PASTED =
  'This is a private key. Paste the public key instead (the contents of the .pub file, e.g. ~/.ssh/id_ed25519.pub). The private key was not stored; keep it secret.';

const invalid = (message: string, code = 'invalid_key') =>
  new AppError('validation_failed', message, {
    fieldErrors: [{ type: 'validation', code, detail: message, pointer: '#/key' }],
  });

/** Answers whether `text` looks like a private key (any common armour), without keeping it. */
export function looksLikePrivateKey(text: string): boolean {
  return PRIVATE_MARKERS.test(text);
}

function refuseType(type: string): never {
  if (type === 'ssh-dss')
    throw invalid(
      'DSA keys (ssh-dss) are not accepted: they are limited to 1024 bits and OpenSSH has disabled them. Generate an Ed25519 key with `ssh-keygen -t ed25519`.',
      'dsa_refused',
    );
  if (type.includes('-cert-v0'))
    throw invalid(
      'This is an SSH certificate, not a public key. Paste the plain public key (the .pub file without "-cert").',
      'certificate_refused',
    );
  throw invalid(
    `Unsupported key type "${type.slice(0, 60)}". Accepted: ${ACCEPTED_LIST}.`,
    'unsupported_type',
  );
}

/** Splits an RFC 4716 block into its base64 body and Comment header. */
function fromRfc4716(text: string): { type?: string; b64: string; comment: string } {
  const lines = text.split(/\r?\n/).map((l) => l.trim());
  if (lines.filter((l) => l === '---- BEGIN SSH2 PUBLIC KEY ----').length > 1)
    throw invalid('Paste one key at a time: this text holds several keys.', 'multiple_keys');
  const end = lines.indexOf('---- END SSH2 PUBLIC KEY ----');
  if (end < 0)
    throw invalid(
      'The "---- BEGIN SSH2 PUBLIC KEY ----" block has no END line: copy the whole key.',
      'truncated',
    );
  let comment = '';
  const body: string[] = [];
  let continued = '';
  for (const line of lines.slice(1, end)) {
    if (continued || /^[A-Za-z][A-Za-z0-9-]*:/.test(line)) {
      const header = continued + line;
      continued = header.endsWith('\\') ? header.slice(0, -1) : '';
      const m = /^Comment:\s*"?(.*?)"?$/i.exec(header);
      if (!continued && m) comment = m[1];
    } else if (line) body.push(line);
  }
  return { b64: body.join(''), comment };
}

function oneLine(text: string): { type: string; b64: string; comment: string } {
  const lines = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const keyLines = lines.filter((l) => TYPE_TOKEN.test(l.split(/\s+/)[0]));
  if (keyLines.length > 1)
    throw invalid(
      `Paste one key at a time: this text holds ${keyLines.length} keys.`,
      'multiple_keys',
    );
  if (lines.length > 1)
    throw invalid(
      'The key must be on a single line: remove the line breaks that were added when copying it.',
      'line_breaks',
    );
  const tokens = lines[0].split(/\s+/);
  if (!TYPE_TOKEN.test(tokens[0])) {
    if (tokens.slice(1).some((t) => TYPE_TOKEN.test(t))) {
      throw invalid(
        'Remove the authorized_keys options in front of the key type (such as from="…" or command="…"): paste the key alone.',
        'options_present',
      );
    }
    throw invalid(
      `This is not an SSH public key. Paste the contents of your .pub file: one line starting with the key type (${ACCEPTED_LIST}).`,
      'not_a_key',
    );
  }
  if (tokens.length < 2)
    throw invalid('The key data is missing after the key type: copy the whole line.', 'truncated');
  return { type: tokens[0], b64: tokens[1], comment: tokens.slice(2).join(' ') };
}

function decode(b64: string): Buffer {
  if (!BASE64.test(b64) || b64.length % 4 !== 0)
    throw invalid(
      'The key data is not valid base64: was it cut short or changed when copying?',
      'bad_base64',
    );
  return Buffer.from(b64, 'base64');
}

/** Checks an uncompressed NIST P-256 point lies on the curve (OpenSSL refuses it otherwise). */
function assertPointOnP256(q: Buffer): void {
  if (q.length !== 65 || q[0] !== 4) throw new Error('not an uncompressed P-256 point');
  createPublicKey({
    key: {
      kty: 'EC',
      crv: 'P-256',
      x: q.subarray(1, 33).toString('base64url'),
      y: q.subarray(33).toString('base64url'),
    },
    format: 'jwk',
  });
}

/** Validates a FIDO key blob field by field; answers its size in bits. */
function securityKeyBits(type: string, blob: Buffer): number {
  const r = new WireReader(blob);
  r.string();
  if (type === 'sk-ssh-ed25519@openssh.com') {
    if (r.bytes().length !== 32) throw new Error('bad Ed25519 key length');
  } else {
    if (r.string() !== 'nistp256') throw new Error('curve does not match the key type');
    assertPointOnP256(r.bytes());
  }
  const application = r.string(256);
  if (!application) throw new Error('empty application');
  if (!r.done) throw new Error('trailing data');
  return 256;
}

/** Validates a plain key with sshpk (which must re-encode it to the same blob); answers its size. */
function plainKeyBits(type: string, blob: Buffer): number {
  const key = sshpk.parseKey(blob, 'rfc4253');
  if (!key.toBuffer('rfc4253', {}).equals(blob)) throw new Error('non-canonical encoding');
  if (key.type === 'ecdsa') {
    const q = (key as unknown as { part: Record<string, { data: Buffer }> }).part.Q.data;
    const crv = { nistp256: 'P-256', nistp384: 'P-384', nistp521: 'P-521' }[String(key.curve)]!;
    const half = (q.length - 1) / 2;
    createPublicKey({
      key: {
        kty: 'EC',
        crv,
        x: q.subarray(1, 1 + half).toString('base64url'),
        y: q.subarray(1 + half).toString('base64url'),
      },
      format: 'jwk',
    });
  }
  if (type === 'ssh-rsa') return key.size;
  return key.type === 'ed25519' ? 256 : key.size;
}

// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/g;
const cleanComment = (c: string) => c.replace(CONTROL_CHARACTERS, '').trim().slice(0, 200);

/** Parses and validates one public key, or throws a 400 saying what is wrong. */
export function parsePublicKey(input: string): ParsedPublicKey {
  const text = (input ?? '').trim();
  if (!text) throw invalid('Paste a public key: the field is empty.', 'empty');
  if (looksLikePrivateKey(text)) throw invalid(PRIVATE_KEY_PASTED, 'private_key_pasted');
  if (text.length > MAX_PUBLIC_KEY_TEXT)
    throw invalid(
      'This text is far longer than any SSH public key: paste a single key.',
      'too_long',
    );
  const parts = text.startsWith('---- BEGIN SSH2 PUBLIC KEY ----')
    ? fromRfc4716(text)
    : oneLine(text);
  if (parts.type && !(ACCEPTED_KEY_TYPES as readonly string[]).includes(parts.type))
    refuseType(parts.type);
  const blob = decode(parts.b64);
  let inner: string;
  try {
    inner = new WireReader(blob).string(64);
  } catch {
    throw invalid(
      'The key data is damaged: it does not decode to an SSH key. Copy the key again.',
      'malformed',
    );
  }
  if (!(ACCEPTED_KEY_TYPES as readonly string[]).includes(inner)) refuseType(inner);
  if (parts.type && parts.type !== inner)
    throw invalid(
      `The key type at the start of the line (${parts.type}) does not match the key data (${inner}).`,
      'type_mismatch',
    );
  const type = inner as SshKeyType;
  let bits: number;
  try {
    bits = type.startsWith('sk-') ? securityKeyBits(type, blob) : plainKeyBits(type, blob);
  } catch {
    throw invalid(
      `The key data is damaged: it is not a valid ${type} key. Copy the key again.`,
      'malformed',
    );
  }
  if (type === 'ssh-rsa' && bits < MIN_RSA_BITS) {
    throw invalid(
      `RSA keys must have at least ${MIN_RSA_BITS} bits; this one has ${bits}. Generate a new key, preferably Ed25519 (\`ssh-keygen -t ed25519\`) or RSA with 3072 bits or more.`,
      'rsa_too_short',
    );
  }
  if (type === 'ssh-rsa' && bits > MAX_RSA_BITS)
    throw invalid(
      `RSA keys may have at most ${MAX_RSA_BITS} bits; this one has ${bits}.`,
      'rsa_too_long',
    );
  return {
    type,
    blob,
    comment: cleanComment(parts.comment),
    bits,
    fingerprint: sshFingerprint(blob),
  };
}

/** The authorized_keys line for a stored key (type, base64 blob and, when given, a comment). */
export function authorizedKeyLine(type: string, blob: Buffer | string, comment?: string): string {
  const b64 = typeof blob === 'string' ? blob : blob.toString('base64');
  const c = comment ? cleanComment(comment) : '';
  return c ? `${type} ${b64} ${c}` : `${type} ${b64}`;
}
