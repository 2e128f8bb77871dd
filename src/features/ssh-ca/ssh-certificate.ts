/**
 * OpenSSH user certificates in the wire format of OpenSSH's PROTOCOL.certkeys, built here because
 * sshpk cannot write critical options or chosen extensions:
 *
 *   string  "<keytype>-cert-v01@openssh.com"   string nonce   <the key's own fields>
 *   uint64  serial   uint32 type (1 = user)   string key id   string valid principals
 *   uint64  valid after   uint64 valid before   string critical options   string extensions
 *   string  reserved   string signature key (the CA's key blob)   string signature
 *
 * The signature (by the CA key, as ssh-agent would sign) covers every field before it. Options
 * and extensions are sorted by name, unique; a value is a string nested inside the data string.
 */
import { randomBytes } from 'node:crypto';
import { agentSign, type LoadedKey } from '../../platform/ssh/ssh-signer.ts';
import {
  WireError,
  WireReader,
  wire,
  wireString,
  wireUint32,
} from '../../platform/ssh/ssh-wire.ts';

export const SSH_CERT_TYPE_USER = 1;

/** The extensions OpenSSH defines for user certificates (what `ssh-keygen -s` grants by default). */
export const STANDARD_EXTENSIONS = [
  'permit-X11-forwarding',
  'permit-agent-forwarding',
  'permit-port-forwarding',
  'permit-pty',
  'permit-user-rc',
] as const;
export type StandardExtension = (typeof STANDARD_EXTENSIONS)[number];

const CERT_TYPES: Record<string, string> = {
  'ssh-ed25519': 'ssh-ed25519-cert-v01@openssh.com',
  'ecdsa-sha2-nistp256': 'ecdsa-sha2-nistp256-cert-v01@openssh.com',
  'ecdsa-sha2-nistp384': 'ecdsa-sha2-nistp384-cert-v01@openssh.com',
  'ecdsa-sha2-nistp521': 'ecdsa-sha2-nistp521-cert-v01@openssh.com',
  'ssh-rsa': 'ssh-rsa-cert-v01@openssh.com',
  'sk-ssh-ed25519@openssh.com': 'sk-ssh-ed25519-cert-v01@openssh.com',
  'sk-ecdsa-sha2-nistp256@openssh.com': 'sk-ecdsa-sha2-nistp256-cert-v01@openssh.com',
};

/** The certificate type for a plain key type, or undefined when OpenSSH has none. */
export const certificateTypeFor = (keyType: string): string | undefined => CERT_TYPES[keyType];

export interface CertificateRequest {
  /** The user's public key blob (RFC 4253 §6.6): its fields are copied after the nonce. */
  publicKeyBlob: Buffer;
  serial: bigint;
  keyId: string;
  principals: string[];
  /** Epoch seconds. */
  validAfter: number;
  validBefore: number;
  /** e.g. `{ 'source-address': '10.0.0.0/8' }`. */
  criticalOptions?: Record<string, string>;
  extensions?: string[];
}

const u64 = (n: bigint) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(n);
  return b;
};
const MAX_U64 = (1n << 64n) - 1n;

function encodeOptions(entries: [string, string | undefined][]): Buffer {
  const sorted = [...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  for (let i = 1; i < sorted.length; i++)
    if (sorted[i][0] === sorted[i - 1][0])
      throw new Error(`duplicate certificate option ${sorted[i][0]}`);
  return wire(
    ...sorted.map(([name, value]) =>
      wire(wireString(name), wireString(value === undefined ? Buffer.alloc(0) : wireString(value))),
    ),
  );
}

/** The certificate blob (to be base64-encoded after its type name on one line). */
export function buildCertificate(
  req: CertificateRequest,
  ca: LoadedKey,
  nonce: Buffer = randomBytes(32),
): Buffer {
  const keyReader = new WireReader(req.publicKeyBlob);
  const keyType = keyReader.string(64);
  const certType = certificateTypeFor(keyType);
  if (!certType) throw new Error(`OpenSSH has no certificate type for ${keyType} keys`);
  const keyFields = req.publicKeyBlob.subarray(4 + Buffer.byteLength(keyType));
  if (req.serial < 0n || req.serial > MAX_U64) throw new Error('serial out of range');
  if (!(req.validAfter >= 0 && req.validAfter < req.validBefore))
    throw new Error('valid-after must be before valid-before');
  if (req.principals.length === 0)
    throw new Error('a user certificate needs at least one principal (none means any user)');
  const body = wire(
    wireString(certType),
    wireString(nonce),
    keyFields,
    u64(req.serial),
    wireUint32(SSH_CERT_TYPE_USER),
    wireString(req.keyId),
    wireString(wire(...req.principals.map((p) => wireString(p)))),
    u64(BigInt(Math.floor(req.validAfter))),
    u64(BigInt(Math.floor(req.validBefore))),
    wireString(encodeOptions(Object.entries(req.criticalOptions ?? {}))),
    wireString(encodeOptions((req.extensions ?? []).map((e) => [e, undefined]))),
    wireString(''),
    wireString(ca.publicBlob),
  );
  const { blob: signature } = agentSign(ca, body, 'sha512');
  return wire(body, wireString(signature));
}

/** The certificate as one OpenSSH line (what `<key>-cert.pub` holds). */
export function certificateLine(blob: Buffer, comment?: string): string {
  const type = new WireReader(blob).string(64);
  return comment
    ? `${type} ${blob.toString('base64')} ${comment}`
    : `${type} ${blob.toString('base64')}`;
}

export interface ParsedCertificate {
  certType: string;
  serial: bigint;
  type: number;
  keyId: string;
  principals: string[];
  validAfter: bigint;
  validBefore: bigint;
  criticalOptions: Record<string, string>;
  extensions: string[];
  caKeyBlob: Buffer;
  /** The bytes the CA signed, and its signature blob. */
  signed: Buffer;
  signature: Buffer;
}

function readOptions(data: Buffer): [string, Buffer][] {
  const r = new WireReader(data);
  const out: [string, Buffer][] = [];
  while (!r.done) out.push([r.string(256), r.bytes()]);
  return out;
}

/** Reads a certificate blob back (for checks and tests); the key fields are skipped, not validated. */
export function parseCertificate(blob: Buffer): ParsedCertificate {
  const r = new WireReader(blob);
  const certType = r.string(64);
  const keyType = Object.entries(CERT_TYPES).find(([, c]) => c === certType)?.[0];
  if (!keyType) throw new WireError(`not a certificate type: ${certType}`);
  r.bytes(); // nonce
  const fieldCount =
    {
      'ssh-ed25519': 1,
      'ssh-rsa': 2,
      'sk-ssh-ed25519@openssh.com': 2,
      'sk-ecdsa-sha2-nistp256@openssh.com': 3,
    }[keyType] ?? 2;
  for (let i = 0; i < fieldCount; i++) r.bytes(16384);
  const u64At = () => (BigInt(r.uint32()) << 32n) | BigInt(r.uint32());
  const serial = u64At();
  const type = r.uint32();
  const keyId = r.string(1024);
  const principalsReader = new WireReader(r.bytes());
  const principals: string[] = [];
  while (!principalsReader.done) principals.push(principalsReader.string(256));
  const validAfter = u64At();
  const validBefore = u64At();
  const criticalOptions = Object.fromEntries(
    readOptions(r.bytes()).map(([n, d]) => [n, new WireReader(d).string(4096)]),
  );
  const extensions = readOptions(r.bytes()).map(([n]) => n);
  r.bytes(); // reserved
  const caKeyBlob = r.bytes();
  const signature = r.bytes();
  if (!r.done) throw new WireError('trailing data after the signature');
  const signedLength = blob.length - 4 - signature.length;
  return {
    certType,
    serial,
    type,
    keyId,
    principals,
    validAfter,
    validBefore,
    criticalOptions,
    extensions,
    caKeyBlob,
    signed: blob.subarray(0, signedLength),
    signature,
  };
}
