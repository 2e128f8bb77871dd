/** What counts as a second factor and as a security key, in RFC 8176 amr values. */
import { usedSecondFactor, usedSecurityKey } from './second-factor.ts';

/** it.each rows of one argument each, so that %j prints the whole amr list. */
const rows = (...lists: string[][]) => lists.map((amr) => [amr] as [string[]]);

describe('usedSecondFactor', () => {
  it.each(rows(['otp'], ['hwk'], ['swk'], ['mfa'], ['pwd', 'otp'], ['otp', 'pwd'], ['pwd', 'hwk']))(
    'is true for %j',
    (amr) => {
      expect(usedSecondFactor(amr)).toBe(true);
    },
  );

  it.each(rows([], ['pwd'], ['pwd', 'kba'], ['sms'], ['pop'], ['OTP'], ['fed']))(
    'is false for %j',
    (amr) => {
      expect(usedSecondFactor(amr)).toBe(false);
    },
  );
});

describe('usedSecurityKey', () => {
  it.each(rows(['hwk'], ['swk'], ['pwd', 'hwk'], ['otp', 'swk']))('is true for %j', (amr) => {
    expect(usedSecurityKey(amr)).toBe(true);
  });

  it.each(rows([], ['pwd'], ['otp'], ['mfa'], ['pwd', 'otp', 'mfa'], ['HWK']))(
    'is false for %j',
    (amr) => {
      expect(usedSecurityKey(amr)).toBe(false);
    },
  );
});
