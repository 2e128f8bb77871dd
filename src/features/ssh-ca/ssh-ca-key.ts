/**
 * SSH certificate-authority keys: Ed25519 (default) or ECDSA on P-256/384/521, generated with
 * node:crypto, kept as PKCS#8 PEM (sealed by the caller), loaded for signing in the shape
 * ssh-signer.ts signs with, and presented as OpenSSH public key lines and fingerprints.
 */
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
} from 'node:crypto';
import type { LoadedKey } from '../../platform/ssh/ssh-signer.ts';
import { sshFingerprint, wire, wireString } from '../../platform/ssh/ssh-wire.ts';

export const CA_ALGORITHMS = ['ed25519', 'ecdsa-p256', 'ecdsa-p384', 'ecdsa-p521'] as const;
export type CaAlgorithm = (typeof CA_ALGORITHMS)[number];

const CURVES: Record<string, { jwk: string; ssh: string }> = {
  'ecdsa-p256': { jwk: 'P-256', ssh: 'nistp256' },
  'ecdsa-p384': { jwk: 'P-384', ssh: 'nistp384' },
  'ecdsa-p521': { jwk: 'P-521', ssh: 'nistp521' },
};
const SSH_CURVE_OF_JWK: Record<string, string> = {
  'P-256': 'nistp256',
  'P-384': 'nistp384',
  'P-521': 'nistp521',
};

/** The SSH public key blob (RFC 4253 §6.6 / RFC 5656 §3.1) of an Ed25519 or ECDSA key. */
export function sshPublicBlob(key: KeyObject): { type: string; blob: Buffer; curve?: string } {
  const jwk = createPublicKey(key).export({ format: 'jwk' });
  if (jwk.kty === 'OKP' && jwk.crv === 'Ed25519') {
    return {
      type: 'ssh-ed25519',
      blob: wire(wireString('ssh-ed25519'), wireString(Buffer.from(jwk.x!, 'base64url'))),
    };
  }
  const curve = jwk.kty === 'EC' ? SSH_CURVE_OF_JWK[jwk.crv ?? ''] : undefined;
  if (!curve) throw new Error('CA keys are Ed25519 or ECDSA (P-256, P-384, P-521)');
  const type = `ecdsa-sha2-${curve}`;
  const q = Buffer.concat([
    Buffer.from([4]),
    Buffer.from(jwk.x!, 'base64url'),
    Buffer.from(jwk.y!, 'base64url'),
  ]);
  return { type, blob: wire(wireString(type), wireString(curve), wireString(q)), curve };
}

/** A new CA key pair: the private key as PKCS#8 PEM, and its public half. */
export function generateCaKey(algorithm: CaAlgorithm): {
  privatePem: string;
  type: string;
  publicBlob: Buffer;
} {
  const { privateKey } =
    algorithm === 'ed25519'
      ? generateKeyPairSync('ed25519')
      : generateKeyPairSync('ec', { namedCurve: CURVES[algorithm].jwk });
  const { type, blob } = sshPublicBlob(privateKey);
  return {
    privatePem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    type,
    publicBlob: blob,
  };
}

/** A stored CA private key ready for agentSign. */
export function loadCaKey(privatePem: string): LoadedKey {
  const node = createPrivateKey({ key: privatePem, format: 'pem' });
  const { type, blob, curve } = sshPublicBlob(node);
  return { type, publicBlob: blob, node, curve };
}

/** `<type> <base64> <comment>`, as TrustedUserCAKeys and authorized_keys read it. */
export function publicKeyLine(type: string, blob: Buffer, comment: string): string {
  return `${type} ${blob.toString('base64')} ${comment}`;
}

export const caFingerprint = (blob: Buffer): string => sshFingerprint(blob);
