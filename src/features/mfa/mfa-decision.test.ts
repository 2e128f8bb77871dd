/** The MFA decision rule, without services: which sign-in methods (amr) satisfy which requirement. */
import { mfaDecision, type MfaDecisionInput } from './mfa-decision.ts';

const NOW = Date.UTC(2026, 0, 1);
const LATER = new Date(NOW + 3_600_000);
const otp = { type: 'otp' } as const;
const key = { type: 'webauthn' } as const;
const noPolicy = { enforced: false };
const enforceMfa = { enforced: true };
const enforceKeys = { enforced: true, webauthnLevel: 'hardware' } as const;

const decide = (input: Partial<MfaDecisionInput>) =>
  mfaDecision({
    factors: [],
    requirement: noPolicy,
    amr: ['pwd'],
    requested: false,
    nowMs: NOW,
    ...input,
  });

describe('without a policy', () => {
  it('asks nothing of a password sign-in by a user without factors', () => {
    expect(decide({})).toEqual({
      need: 'ok',
      webauthnOnly: false,
      fips: false,
      hasOtp: false,
      hasKeys: false,
      enforced: false,
    });
  });

  it("asks for the user's own factor, and any second factor satisfies it", () => {
    expect(decide({ factors: [otp] })).toMatchObject({
      need: 'verify',
      hasOtp: true,
      enforced: false,
    });
    expect(decide({ factors: [key] })).toMatchObject({ need: 'verify', hasKeys: true });
    for (const m of ['otp', 'hwk', 'swk', 'mfa'])
      expect(decide({ factors: [otp], amr: ['pwd', m] }).need).toBe('ok');
  });

  it('does not count other methods as a second factor', () => {
    for (const m of ['pwd', 'kba', 'sms', 'pop'])
      expect(decide({ factors: [otp], amr: [m] }).need).toBe('verify');
  });

  it('makes a user without factors enrol when the client requests a second factor, with no skipping', () => {
    expect(decide({ requested: true })).toMatchObject({
      need: 'enroll',
      skippableUntil: undefined,
    });
    expect(decide({ requested: true, factors: [otp] }).need).toBe('verify');
    expect(decide({ requested: true, amr: ['pwd', 'otp'] }).need).toBe('ok');
  });
});

describe('enforce-mfa', () => {
  it('makes a user without factors enrol, and accepts any second factor', () => {
    expect(decide({ requirement: enforceMfa })).toMatchObject({ need: 'enroll', enforced: true });
    expect(decide({ requirement: enforceMfa, factors: [otp] }).need).toBe('verify');
    expect(decide({ requirement: enforceMfa, amr: ['pwd', 'otp'] }).need).toBe('ok');
  });

  it('lets enrolment be skipped until the grace period ends', () => {
    const requirement = { ...enforceMfa, graceUntil: LATER };
    expect(decide({ requirement }).skippableUntil).toEqual(LATER);
    expect(decide({ requirement, nowMs: LATER.getTime() })).toMatchObject({
      need: 'enroll',
      skippableUntil: undefined,
    });
  });

  it('gives no grace when the client itself requested a second factor', () => {
    expect(
      decide({ requirement: { ...enforceMfa, graceUntil: LATER }, requested: true }).skippableUntil,
    ).toBeUndefined();
  });
});

describe('enforce-webauthn-mfa', () => {
  it('accepts only a security key', () => {
    expect(decide({ requirement: enforceKeys, factors: [key], amr: ['pwd', 'hwk'] }).need).toBe(
      'ok',
    );
    expect(decide({ requirement: enforceKeys, factors: [key], amr: ['pwd', 'swk'] }).need).toBe(
      'ok',
    );
    for (const m of ['otp', 'mfa']) {
      expect(decide({ requirement: enforceKeys, factors: [otp, key], amr: ['pwd', m] }).need).toBe(
        'verify',
      );
    }
  });

  it('makes a user with only an authenticator app enrol a security key', () => {
    expect(decide({ requirement: enforceKeys, factors: [otp], amr: ['pwd', 'otp'] })).toMatchObject(
      { need: 'enroll', webauthnOnly: true, hasOtp: true, hasKeys: false },
    );
  });

  it('says whether FIPS keys are required', () => {
    expect(decide({ requirement: enforceKeys }).fips).toBe(false);
    expect(decide({ requirement: { ...enforceKeys, webauthnLevel: 'fips' } })).toMatchObject({
      webauthnOnly: true,
      fips: true,
    });
  });
});
