/**
 * Signs JWT access tokens (RFC 9068, `typ: at+jwt`) with the provider's own RS256 signing key, so
 * resource servers verify them with the published JWKS (`/api/oidc/jwks`). Node crypto only.
 */
import { createPrivateKey, sign, type JsonWebKey, type KeyObject } from 'node:crypto';

export interface JwtSigner {
  sign(payload: Record<string, unknown>, typ: string): string;
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');

export function createJwtSigner(jwks: { keys: Record<string, unknown>[] }): JwtSigner {
  const jwk = jwks.keys.find(
    (k) => k.alg === 'RS256' && k.kty === 'RSA' && typeof k.d === 'string',
  );
  if (!jwk) throw new Error('no RS256 private signing key in the server JWKS');
  const key: KeyObject = createPrivateKey({ key: jwk as JsonWebKey, format: 'jwk' });
  return {
    sign(payload, typ) {
      const input = `${b64({ alg: 'RS256', typ, kid: jwk.kid })}.${b64(payload)}`;
      return `${input}.${sign('sha256', Buffer.from(input), key).toString('base64url')}`;
    },
  };
}
