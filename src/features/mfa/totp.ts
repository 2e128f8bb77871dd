/** RFC 6238 TOTP (otplib): SHA-1, 6 digits, 30 s steps, ±1 step accepted, 160-bit seeds. */
import { generateSecret, generateURI, verify } from 'otplib';

export const TOTP_PERIOD = 30;

export function newTotpSeed(): string {
  return generateSecret({ length: 20 }); // 20 bytes = 160 bits, base32
}

export function totpUri(seed: string, issuer: string, accountName: string): string {
  return generateURI({
    issuer,
    label: accountName,
    secret: seed,
    algorithm: 'sha1',
    digits: 6,
    period: TOTP_PERIOD,
  });
}

/**
 * The time step the code belongs to, when it is valid within ±1 step of `nowMs` and later than
 * `afterStep` (each step is accepted once); otherwise undefined.
 */
export async function matchTotp(
  seed: string,
  code: string,
  nowMs: number,
  afterStep: number,
): Promise<number | undefined> {
  if (!/^\d{6}$/.test(code)) return undefined;
  try {
    const result = await verify({
      secret: seed,
      token: code,
      algorithm: 'sha1',
      digits: 6,
      period: TOTP_PERIOD,
      epoch: Math.floor(nowMs / 1000),
      epochTolerance: TOTP_PERIOD,
      afterTimeStep: afterStep,
    });
    return result.valid ? (result as { timeStep: number }).timeStep : undefined;
  } catch {
    return undefined; // otplib refuses out-of-range input (e.g. a last-used step ahead of this clock)
  }
}
