/**
 * The one definition of what counts as a second factor, in RFC 8176 `amr` values, and the acr
 * values Keyward advertises. Sign-in decisions, sudo mode, API-key records and SSH certificate
 * evidence all ask here.
 */

/** A second factor of unknown kind: recorded with a credential created after one (`createdWithMfa`), or asserted by a trusted upstream sign-in. */
export const SOME_SECOND_FACTOR = 'mfa';
/** A security key (hardware- or software-protected). */
export const SECURITY_KEY_AMR: readonly string[] = ['hwk', 'swk'];
/** Every amr value that is a second factor: an authenticator app code, a security key, or one of unknown kind. */
export const SECOND_FACTOR_AMR: readonly string[] = [
  'otp',
  ...SECURITY_KEY_AMR,
  SOME_SECOND_FACTOR,
];

/** Whether a sign-in with these methods used a second factor. */
export const usedSecondFactor = (amr: readonly string[]): boolean =>
  amr.some((m) => SECOND_FACTOR_AMR.includes(m));
/** Whether a sign-in with these methods used a security key. */
export const usedSecurityKey = (amr: readonly string[]): boolean =>
  amr.some((m) => SECURITY_KEY_AMR.includes(m));

/** acr of a password-only sign-in. */
export const ACR_PWD = 'urn:keyward:acr:pwd';
/** acr of a sign-in with a second factor. */
export const ACR_MFA = 'urn:keyward:acr:mfa';
