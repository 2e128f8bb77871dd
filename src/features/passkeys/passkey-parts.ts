/** What the passkey pages and REST routes use. */
import type { MfaParts } from '../mfa/index.ts';
import type { PasskeyService } from './passkey-service.ts';
import type { PasswordlessService } from './passwordless-service.ts';

export interface PasskeyFeatureDeps {
  passkeys: PasskeyService;
  passwordless: PasswordlessService;
  mfa: MfaParts['mfa'];
  sudo: MfaParts['sudo'];
  sessions: MfaParts['sessions'];
}
