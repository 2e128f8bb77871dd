/**
 * The WebAuthn checks every use of a key shares — a security key as a second factor
 * (webauthn-service.ts) and a passkey that signs in on its own (features/passkeys): the relying
 * party (the public URL's host and origin), verifying a new credential into what is stored of it,
 * and verifying an assertion against a stored credential. The counter rule is not here but in
 * webauthn-counter.ts (race-free), so the library is given counter 0.
 */
import {
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type AuthenticationResponseJSON,
  type RegistrationResponseJSON,
} from '@simplewebauthn/server';
import { AppError } from '../../platform/errors/app-error.ts';
import type { Account } from '../../platform/directory/account-repository.ts';
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

/** How long a registration or sign-in challenge stays valid. */
export const CHALLENGE_TTL = 300;

/**
 * Options for registering a new key of `account`, excluding the keys it already has; `passkey`
 * asks for a discoverable credential with user verification (and its credProps answer).
 */
export async function registrationOptions(
  rp: RelyingParty & { rpName: string },
  account: Account,
  existing: MfaFactor[],
  passkey: boolean,
): Promise<{ challenge: string } & Record<string, unknown>> {
  const options = await generateRegistrationOptions({
    rpName: rp.rpName,
    rpID: rp.rpID,
    userName: account.username,
    userDisplayName: account.displayName,
    userID: new TextEncoder().encode(account.id),
    attestationType: 'direct',
    timeout: CHALLENGE_TTL * 1000,
    excludeCredentials: existing
      .filter((f) => f.webauthn)
      .map((f) => ({ id: f.webauthn!.credentialId, transports: f.webauthn!.transports as never })),
    authenticatorSelection: passkey
      ? { residentKey: 'required', requireResidentKey: true, userVerification: 'required' }
      : { residentKey: 'discouraged', userVerification: 'discouraged' },
    ...(passkey ? { extensions: { credProps: true } as never } : {}),
  });
  return options as unknown as { challenge: string } & Record<string, unknown>;
}

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
