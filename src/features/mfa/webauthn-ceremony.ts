/**
 * The WebAuthn checks every use of a key shares — a security key as a second factor
 * (webauthn-service.ts) and a passkey that signs in on its own (features/passkeys): the relying
 * party (the public URL's host and origin), verifying a new credential into what is stored of it,
 * and verifying an assertion against a stored credential. The counter rule is not here but in
 * webauthn-counter.ts (race-free), so the library is given counter 0.
 */
import {
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type AuthenticationResponseJSON,
  type RegistrationResponseJSON,
} from '@simplewebauthn/server';
import { AppError } from '../../platform/errors/app-error.ts';
import type { MfaFactor } from './mfa-factor-repository.ts';

/** Where keys answer: the relying-party id (host name) and the origin of Keyward's public URL. */
export interface RelyingParty {
  rpID: string;
  origin: string;
}

export function relyingParty(baseUrl: string): RelyingParty {
  const url = new URL(baseUrl);
  return { rpID: url.hostname, origin: url.origin };
}

type StoredCredential = NonNullable<MfaFactor['webauthn']>;

/**
 * Verifies a registration response against its challenge; answers what is stored of the new
 * credential, or throws a 400 naming `what` ("security key", "passkey").
 */
export async function verifyNewCredential(
  rp: RelyingParty,
  what: string,
  challenge: string,
  response: unknown,
  requireUserVerification: boolean,
): Promise<StoredCredential> {
  let verification;
  try {
    verification = await verifyRegistrationResponse({
      response: response as RegistrationResponseJSON,
      expectedChallenge: challenge,
      expectedOrigin: rp.origin,
      expectedRPID: rp.rpID,
      requireUserPresence: true,
      requireUserVerification,
    });
  } catch (err) {
    throw new AppError(
      'validation_failed',
      `The ${what} response is not valid: ${(err as Error).message}`,
    );
  }
  if (!verification.verified) {
    throw new AppError('validation_failed', `The ${what} response could not be verified.`);
  }
  const info = verification.registrationInfo;
  return {
    credentialId: info.credential.id,
    publicKey: Buffer.from(info.credential.publicKey).toString('base64'),
    counter: info.credential.counter,
    transports: info.credential.transports ?? [],
    aaguid: info.aaguid.toLowerCase(),
    deviceType: info.credentialDeviceType,
    backedUp: info.credentialBackedUp,
    attestationFormat: info.fmt,
  };
}

/**
 * Verifies an assertion of a stored credential against its challenge: answers the counter the key
 * reported, or the refusal's message naming `what`.
 */
export async function verifyAssertion(
  rp: RelyingParty,
  what: string,
  stored: StoredCredential,
  challenge: string,
  response: unknown,
  requireUserVerification: boolean,
): Promise<{ newCounter: number } | { refusal: string }> {
  let result;
  try {
    result = await verifyAuthenticationResponse({
      response: response as AuthenticationResponseJSON,
      expectedChallenge: challenge,
      expectedOrigin: rp.origin,
      expectedRPID: rp.rpID,
      credential: {
        id: stored.credentialId,
        publicKey: new Uint8Array(Buffer.from(stored.publicKey, 'base64')),
        counter: 0,
        transports: stored.transports as never,
      },
      requireUserVerification,
    });
  } catch (err) {
    return { refusal: `The ${what} response is not valid: ${(err as Error).message}` };
  }
  if (!result.verified) return { refusal: `The ${what} could not be verified.` };
  return { newCounter: result.authenticationInfo.newCounter };
}
