/**
 * Reads a pasted SSH private key: OpenSSH (`-----BEGIN OPENSSH PRIVATE KEY-----`), PKCS#1 / SEC1
 * and PKCS#8 PEM, optionally protected by a passphrase. `inspectPrivateKey` is cheap and refuses
 * wrong input early (type, format, several keys, unsupported cipher); `decodePrivateKey` does the
 * (possibly slow, when a passphrase KDF is involved) decryption and answers the key as an
 * unencrypted OpenSSH private key, the form Keyward seals and signs with. Error messages never
 * contain the pasted text.
 */
import { createPrivateKey } from 'node:crypto';
import sshpk from 'sshpk';
import { AppError } from '../../platform/errors/app-error.ts';
import { WireReader } from '../../platform/ssh/ssh-wire.ts';

export const MAX_PRIVATE_RSA_BITS = 8192;
const MAX_INPUT = 32 * 1024;
const OPENSSH = /-----BEGIN OPENSSH PRIVATE KEY-----([\s\S]*?)-----END OPENSSH PRIVATE KEY-----/;
const PEM_PRIVATE =
  /-----BEGIN (RSA |EC |ENCRYPTED )?PRIVATE KEY-----[\s\S]*?-----END \1?PRIVATE KEY-----/;
const OPENSSH_CIPHERS = new Set(['aes128-ctr', 'aes192-ctr', 'aes256-ctr']);
const ACCEPTED = 'Ed25519, ECDSA (P-256, P-384, P-521) or RSA (2048 to 8192 bits)';

export interface Inspection {
  format: 'openssh' | 'pem';
  encrypted: boolean;
}
export interface DecodedPrivateKey {
  openssh: string;
  publicKey: string;
}

export const invalidPrivateKey = (message: string, code: string) =>
  new AppError('validation_failed', message, {
    fieldErrors: [
      {
        type: 'validation',
        code,
        detail: message,
        pointer: code.startsWith('passphrase') ? '#/passphrase' : '#/privateKey',
      },
    ],
  });

export const PASSPHRASE_REQUIRED =
  'This private key is protected by a passphrase. Enter the passphrase: Keyward decrypts the key once and keeps it under its own encryption; the passphrase itself is not stored.';
export const PASSPHRASE_WRONG = 'The passphrase is not correct for this private key.';

function refuseOpenSshType(type: string): never {
  if (type === 'ssh-dss')
    throw invalidPrivateKey(`DSA keys are not accepted. Use an ${ACCEPTED} key.`, 'dsa_refused');
  if (type.startsWith('sk-'))
    throw invalidPrivateKey(
      'Security-key (sk-*) private keys only work together with their hardware token, so Keyward cannot use them. Use an Ed25519, ECDSA or RSA key.',
      'security_key_refused',
    );
  throw invalidPrivateKey(
    `Unsupported key type "${type.slice(0, 60)}". Use an ${ACCEPTED} key.`,
    'unsupported_type',
  );
}

function inspectOpenSsh(body: string): Inspection {
  const b64 = body.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64))
    throw invalidPrivateKey(
      'The OpenSSH private key is damaged (its body is not base64). Copy the whole file again.',
      'malformed',
    );
  const raw = Buffer.from(b64, 'base64');
  const magic = Buffer.from('openssh-key-v1\0');
  if (!raw.subarray(0, magic.length).equals(magic))
    throw invalidPrivateKey(
      'The OpenSSH private key is damaged (bad header). Copy the whole file again.',
      'malformed',
    );
  let cipher: string;
  let kdf: string;
  let count: number;
  let type: string;
  try {
    const r = new WireReader(raw.subarray(magic.length));
    cipher = r.string(64);
    kdf = r.string(64);
    r.bytes(1024);
    count = r.uint32();
    type = new WireReader(r.bytes()).string(64);
  } catch {
    throw invalidPrivateKey(
      'The OpenSSH private key is damaged or cut short. Copy the whole file again.',
      'malformed',
    );
  }
  if (count !== 1)
    throw invalidPrivateKey(
      `Paste one private key at a time: this file holds ${count} keys.`,
      'multiple_keys',
    );
  if (
    ![
      'ssh-ed25519',
      'ecdsa-sha2-nistp256',
      'ecdsa-sha2-nistp384',
      'ecdsa-sha2-nistp521',
      'ssh-rsa',
    ].includes(type)
  )
    refuseOpenSshType(type);
  if (cipher === 'none') return { format: 'openssh', encrypted: false };
  if (!OPENSSH_CIPHERS.has(cipher) || kdf !== 'bcrypt') {
    throw invalidPrivateKey(
      `This key is encrypted with ${cipher.slice(0, 40)}, which Keyward cannot decrypt. Re-encrypt it with \`ssh-keygen -p -Z aes256-ctr -f <keyfile>\` (or remove the passphrase) and paste it again.`,
      'unsupported_cipher',
    );
  }
  return { format: 'openssh', encrypted: true };
}

/** Recognises the format and refuses what cannot work, before any decryption. */
export function inspectPrivateKey(input: string): Inspection {
  const text = (input ?? '').trim();
  if (!text) throw invalidPrivateKey('Paste the private key: the field is empty.', 'empty');
  if (text.length > MAX_INPUT)
    throw invalidPrivateKey(
      'This text is far longer than any SSH private key: paste a single key.',
      'too_long',
    );
  if (/^(ssh-|ecdsa-sha2-|sk-)[a-z0-9@.-]+\s+[A-Za-z0-9+/]/.test(text)) {
    throw invalidPrivateKey(
      'This is a public key. Paste the private key (the key file without .pub, starting with "-----BEGIN").',
      'public_key_pasted',
    );
  }
  const begins = text.match(/-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/g) ?? [];
  if (begins.length > 1)
    throw invalidPrivateKey(
      `Paste one private key at a time: this text holds ${begins.length} keys.`,
      'multiple_keys',
    );
  if (text.startsWith('PuTTY-User-Key-File-'))
    throw invalidPrivateKey(
      'PuTTY keys (.ppk) are not accepted: in PuTTYgen choose Conversions → Export OpenSSH key, and paste that.',
      'putty_key',
    );
  if (text.includes('BEGIN SSH2 ENCRYPTED PRIVATE KEY'))
    throw invalidPrivateKey(
      'SSH.com-format keys are not accepted: convert the key with `ssh-keygen -i -f <keyfile>` and paste the result.',
      'ssh2_key',
    );
  if (text.includes('-----BEGIN DSA PRIVATE KEY-----'))
    throw invalidPrivateKey(`DSA keys are not accepted. Use an ${ACCEPTED} key.`, 'dsa_refused');
  if (begins.length === 1 && !OPENSSH.test(text) && !PEM_PRIVATE.test(text)) {
    throw invalidPrivateKey(
      'The private key is cut short or its END line does not match its BEGIN line. Copy the whole file again.',
      'truncated',
    );
  }
  const openssh = OPENSSH.exec(text);
  if (openssh) return inspectOpenSsh(openssh[1]);
  const pem = PEM_PRIVATE.exec(text);
  if (pem)
    return {
      format: 'pem',
      encrypted: pem[1] === 'ENCRYPTED ' || /Proc-Type:\s*4,ENCRYPTED/.test(pem[0]),
    };
  throw invalidPrivateKey(
    'This is not a private key Keyward can read. Paste an OpenSSH private key ("-----BEGIN OPENSSH PRIVATE KEY-----") or a PEM one (PKCS#1 or PKCS#8).',
    'not_a_key',
  );
}

function checkType(key: sshpk.PrivateKey): void {
  if (key.type === 'rsa' && (key.size < 2048 || key.size > MAX_PRIVATE_RSA_BITS)) {
    throw invalidPrivateKey(
      `RSA private keys must have 2048 to ${MAX_PRIVATE_RSA_BITS} bits; this one has ${key.size}.`,
      key.size < 2048 ? 'rsa_too_short' : 'rsa_too_long',
    );
  }
  if (key.type === 'dsa')
    throw invalidPrivateKey(`DSA keys are not accepted. Use an ${ACCEPTED} key.`, 'dsa_refused');
  if (!['rsa', 'ecdsa', 'ed25519'].includes(key.type))
    throw invalidPrivateKey(`Unsupported key type. Use an ${ACCEPTED} key.`, 'unsupported_type');
}

function decodeOpenSsh(text: string, encrypted: boolean, passphrase?: string): sshpk.PrivateKey {
  if (encrypted && !passphrase) throw invalidPrivateKey(PASSPHRASE_REQUIRED, 'passphrase_required');
  try {
    return sshpk.parsePrivateKey(text, 'ssh', encrypted ? { passphrase } : {});
  } catch (err) {
    if (encrypted && /passphrase/i.test((err as Error).message))
      throw invalidPrivateKey(PASSPHRASE_WRONG, 'passphrase_wrong');
    throw invalidPrivateKey(
      'The OpenSSH private key is damaged and cannot be read. Copy the whole file again.',
      'malformed',
    );
  }
}

function decodePem(text: string, encrypted: boolean, passphrase?: string): sshpk.PrivateKey {
  if (encrypted && !passphrase) throw invalidPrivateKey(PASSPHRASE_REQUIRED, 'passphrase_required');
  let pkcs8: string;
  try {
    // OpenSSL (not sshpk) decrypts PEM: sshpk reports a wrong PEM passphrase asynchronously.
    pkcs8 = createPrivateKey({
      key: text,
      format: 'pem',
      passphrase: encrypted ? passphrase : undefined,
    })
      .export({ type: 'pkcs8', format: 'pem' })
      .toString();
  } catch {
    if (encrypted) throw invalidPrivateKey(PASSPHRASE_WRONG, 'passphrase_wrong');
    throw invalidPrivateKey(
      `The PEM private key cannot be read: it is damaged, or not an ${ACCEPTED} key.`,
      'malformed',
    );
  }
  try {
    return sshpk.parsePrivateKey(pkcs8, 'pkcs8');
  } catch {
    throw invalidPrivateKey(`Unsupported key type. Use an ${ACCEPTED} key.`, 'unsupported_type');
  }
}

/** Decrypts (when needed) and normalises the key. Synchronous and possibly slow: see the worker. */
export function decodePrivateKey(input: string, passphrase?: string): DecodedPrivateKey {
  const text = input.trim();
  const { format, encrypted } = inspectPrivateKey(text);
  const key =
    format === 'openssh'
      ? decodeOpenSsh(OPENSSH.exec(text)![0], encrypted, passphrase)
      : decodePem(PEM_PRIVATE.exec(text)![0], encrypted, passphrase);
  checkType(key);
  return { openssh: key.toString('openssh'), publicKey: key.toPublic().toString('ssh') };
}
