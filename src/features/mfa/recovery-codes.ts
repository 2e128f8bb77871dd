/** Recovery codes: 10 codes of 10 characters from a 31-letter alphabet (49.5 bits each), shown once, stored as HMAC-SHA-256 with a sealed server pepper. */
import { createHmac, randomInt } from 'node:crypto';

const ALPHABET = 'abcdefghjkmnpqrstuvwxyz23456789'; // no 0/o, 1/l/i
export const RECOVERY_CODE_COUNT = 10;

export function newRecoveryCodes(): string[] {
  return Array.from({ length: RECOVERY_CODE_COUNT }, () => {
    const chars = Array.from({ length: 10 }, () => ALPHABET[randomInt(ALPHABET.length)]).join('');
    return `${chars.slice(0, 5)}-${chars.slice(5)}`;
  });
}

/** Normalises what a person typed (case, spaces, dashes) and digests it for lookup. */
export function recoveryCodeDigest(
  pepper: Buffer,
  accountId: string,
  code: string,
): string | undefined {
  const clean = code.toLowerCase().replace(/[\s-]/g, '');
  if (!/^[a-z0-9]{10}$/.test(clean)) return undefined;
  return createHmac('sha256', pepper).update(`${accountId}:${clean}`).digest('base64url');
}
