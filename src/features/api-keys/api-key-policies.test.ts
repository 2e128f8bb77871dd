/** The lifetime rules of API keys and CLI tokens, without a database: policies in, expiry or a 4xx out. */
import { AppError } from '../../platform/errors/app-error.ts';
import { keyExpiry, tokenExpiry, type LifetimeRules } from './api-key-policies.ts';

const NOW = Date.UTC(2026, 0, 1);
const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

/** The defaults: users choose, keys live at most 730 days, tokens 24 h. */
const defaults: LifetimeRules = { choice: true, maxKeyDays: 730, tokenDefaultHours: 24 };
const unlimited: LifetimeRules = { ...defaults, maxKeyDays: undefined };
const noChoice: LifetimeRules = { ...defaults, choice: false };

function refusal(fn: () => unknown): AppError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(AppError);
    return err as AppError;
  }
  throw new Error('expected a refusal');
}

describe('keyExpiry', () => {
  it.each([7, 30, 60, 90])('a %i-day key expires that many days from now', (days) => {
    expect(keyExpiry(defaults, { duration: String(days) }, NOW)).toEqual(
      new Date(NOW + days * DAY_MS),
    );
    expect(keyExpiry(defaults, { duration: days }, NOW)).toEqual(new Date(NOW + days * DAY_MS));
  });

  it('takes expiresIn in seconds', () => {
    expect(keyExpiry(defaults, { expiresIn: 900 }, NOW)).toEqual(new Date(NOW + 900_000));
  });

  it('gives a key without a chosen lifetime the organization maximum', () => {
    expect(keyExpiry(defaults, {}, NOW)).toEqual(new Date(NOW + 730 * DAY_MS));
    expect(keyExpiry({ ...defaults, maxKeyDays: 30 }, {}, NOW)).toEqual(
      new Date(NOW + 30 * DAY_MS),
    );
  });

  it('allows "none" (never expires) only under an Unlimited policy', () => {
    expect(keyExpiry(unlimited, { duration: '' }, NOW)).toBeUndefined();
    expect(keyExpiry(unlimited, { duration: '0' }, NOW)).toBeUndefined();
    expect(keyExpiry(unlimited, { duration: 0 }, NOW)).toBeUndefined();
    expect(keyExpiry(unlimited, {}, NOW)).toBeUndefined();
    const err = refusal(() => keyExpiry(defaults, { duration: '' }, NOW));
    expect(err.code).toBe('validation_failed');
    expect(err.message).toMatch(/at most 730 days.*Unlimited max-api-key-ttl/);
  });

  it('accepts exactly the organization maximum and refuses one day more', () => {
    const rules = { ...defaults, maxKeyDays: 30 };
    expect(keyExpiry(rules, { duration: '30' }, NOW)).toEqual(new Date(NOW + 30 * DAY_MS));
    expect(refusal(() => keyExpiry(rules, { duration: '31' }, NOW)).message).toBe(
      'Your organization allows API keys to live at most 30 days. Choose a shorter duration.',
    );
    expect(keyExpiry(rules, { expiresIn: 30 * 86_400 }, NOW)).toEqual(new Date(NOW + 30 * DAY_MS));
    expect(refusal(() => keyExpiry(rules, { expiresIn: 30 * 86_400 + 1 }, NOW)).code).toBe(
      'validation_failed',
    );
  });

  it('has no maximum under an Unlimited policy', () => {
    expect(keyExpiry(unlimited, { duration: '99999' }, NOW)).toEqual(
      new Date(NOW + 99_999 * DAY_MS),
    );
  });

  it.each(['-1', '1.5', '7d', 'abc', '100000'])('refuses duration %j', (duration) => {
    const err = refusal(() => keyExpiry(unlimited, { duration }, NOW));
    expect(err.code).toBe('validation_failed');
    expect(err.message).toMatch(/duration must be a whole number of days/);
  });

  it('refuses duration and expiresIn together', () => {
    expect(refusal(() => keyExpiry(defaults, { duration: '7', expiresIn: 900 }, NOW)).message).toBe(
      'duration and expiresIn cannot be combined: send one of them.',
    );
  });

  it('refuses any chosen lifetime when the organization does not let users choose', () => {
    expect(refusal(() => keyExpiry(noChoice, { duration: '7' }, NOW)).code).toBe('forbidden');
    expect(refusal(() => keyExpiry(noChoice, { expiresIn: 900 }, NOW)).code).toBe('forbidden');
    expect(keyExpiry(noChoice, {}, NOW)).toEqual(new Date(NOW + 730 * DAY_MS));
  });
});

describe('tokenExpiry', () => {
  it.each([1, 12, 24])('a %i-hour token expires that many hours from now', (hours) => {
    expect(tokenExpiry(defaults, hours, NOW)).toEqual(new Date(NOW + hours * HOUR_MS));
  });

  it("gives a token without a chosen lifetime the organization's default", () => {
    expect(tokenExpiry(defaults, undefined, NOW)).toEqual(new Date(NOW + 24 * HOUR_MS));
    expect(tokenExpiry({ ...noChoice, tokenDefaultHours: 8 }, undefined, NOW)).toEqual(
      new Date(NOW + 8 * HOUR_MS),
    );
  });

  it.each([0, 25, 1.5, -1, Number.NaN])('refuses %d hours', (hours) => {
    const err = refusal(() => tokenExpiry(defaults, hours, NOW));
    expect(err.code).toBe('validation_failed');
    expect(err.message).toBe('ttl must be a whole number of hours from 1 to 24.');
  });

  it('refuses a chosen lifetime when the organization does not let users choose', () => {
    expect(refusal(() => tokenExpiry(noChoice, 1, NOW)).code).toBe('forbidden');
  });
});
