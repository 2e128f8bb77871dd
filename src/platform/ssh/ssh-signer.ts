/**
 * Signs with an SSH private key the way ssh-agent does (an SSH signature blob: `string algorithm,
 * string signature`, RFC 4253 §6.6 / RFC 8332 / RFC 5656) and in OpenSSH's SSHSIG format
 * (`ssh-keygen -Y sign`), so the platform can use a stored key without the key leaving Keyward.
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  sign,
  verify,
  type KeyObject,
} from 'node:crypto';
import sshpk from 'sshpk';
import { WireReader, wire, wireMpint, wireString, wireUint32 } from './ssh-wire.ts';

export type RsaHash = 'sha256' | 'sha512';

export interface LoadedKey {
  type: string;
  publicBlob: Buffer;
  node: KeyObject;
  curve?: string;
}

const ECDSA_HASH: Record<string, string> = {
  nistp256: 'sha256',
  nistp384: 'sha384',
  nistp521: 'sha512',
};

/** Loads an unencrypted OpenSSH private key (as Keyward stores them) for signing. */
export function loadSigningKey(openssh: string): LoadedKey {
  const key = sshpk.parsePrivateKey(openssh, 'ssh');
  const publicBlob = key.toPublic().toBuffer('rfc4253', {});
  const node = createPrivateKey({ key: key.toString('pkcs8'), format: 'pem' });
  const type = new WireReader(publicBlob).string();
  return { type, publicBlob, node, curve: key.type === 'ecdsa' ? String(key.curve) : undefined };
}

/** An agent-style signature blob over `data`. RSA signs with rsa-sha2-512 unless asked for sha256 (never SHA-1). */
export function agentSign(
  key: LoadedKey,
  data: Buffer,
  rsaHash: RsaHash = 'sha512',
): { algorithm: string; blob: Buffer } {
  if (key.type === 'ssh-ed25519') {
    return {
      algorithm: key.type,
      blob: wire(wireString(key.type), wireString(sign(null, data, key.node))),
    };
  }
  if (key.type.startsWith('ecdsa-sha2-')) {
    const raw = sign(ECDSA_HASH[key.curve!], data, { key: key.node, dsaEncoding: 'ieee-p1363' });
    const half = raw.length / 2;
    const inner = wire(wireMpint(raw.subarray(0, half)), wireMpint(raw.subarray(half)));
    return { algorithm: key.type, blob: wire(wireString(key.type), wireString(inner)) };
  }
  if (key.type === 'ssh-rsa') {
    const algorithm = rsaHash === 'sha256' ? 'rsa-sha2-256' : 'rsa-sha2-512';
    return {
      algorithm,
      blob: wire(wireString(algorithm), wireString(sign(rsaHash, data, key.node))),
    };
  }
  throw new Error(`cannot sign with ${key.type}`);
}

/** Verifies an agent-style signature blob against a public key blob (used as a self-test on import). */
export function agentVerify(publicBlob: Buffer, data: Buffer, signatureBlob: Buffer): boolean {
  const pub = createPublicKey({
    key: sshpk.parseKey(publicBlob, 'rfc4253').toString('pkcs8'),
    format: 'pem',
  });
  const r = new WireReader(signatureBlob);
  const algorithm = r.string();
  const sig = r.bytes();
  if (!r.done) return false;
  if (algorithm === 'ssh-ed25519') return verify(null, data, pub, sig);
  if (algorithm === 'rsa-sha2-256' || algorithm === 'rsa-sha2-512')
    return verify(algorithm === 'rsa-sha2-256' ? 'sha256' : 'sha512', data, pub, sig);
  const curve = /^ecdsa-sha2-(nistp\d+)$/.exec(algorithm)?.[1];
  if (!curve || !ECDSA_HASH[curve]) return false;
  const inner = new WireReader(sig);
  const size = { nistp256: 32, nistp384: 48, nistp521: 66 }[curve]!;
  const int = (b: Buffer) => {
    const t = b.subarray(Math.max(0, b.length - size));
    return Buffer.concat([Buffer.alloc(size - t.length), t]);
  };
  const p1363 = Buffer.concat([int(inner.bytes()), int(inner.bytes())]);
  return verify(ECDSA_HASH[curve], data, { key: pub, dsaEncoding: 'ieee-p1363' }, p1363);
}

const MAGIC = Buffer.from('SSHSIG');

/** An armored SSHSIG signature of `message` (what `ssh-keygen -Y sign -n <namespace>` writes). */
export function sshsigSign(
  key: LoadedKey,
  message: Buffer,
  namespace: string,
  hash: 'sha256' | 'sha512' = 'sha512',
): string {
  const digest = createHash(hash).update(message).digest();
  const signed = wire(
    MAGIC,
    wireString(namespace),
    wireString(''),
    wireString(hash),
    wireString(digest),
  );
  const { blob } = agentSign(key, signed, 'sha512');
  const body = wire(
    MAGIC,
    wireUint32(1),
    wireString(key.publicBlob),
    wireString(namespace),
    wireString(''),
    wireString(hash),
    wireString(blob),
  );
  const b64 = body
    .toString('base64')
    .match(/.{1,70}/g)!
    .join('\n');
  return `-----BEGIN SSH SIGNATURE-----\n${b64}\n-----END SSH SIGNATURE-----\n`;
}
