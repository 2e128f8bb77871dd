/**
 * The delay rule, without a database: free attempts, doubling delays up to a cap, the lock, and
 * the reset window. The reservations against the repository are covered by test/platform/throttle.test.ts.
 */
import {
  ThrottleService,
  countedFailures,
  waitSeconds,
  type ThrottleRule,
} from './throttle-service.ts';

const rule: ThrottleRule = {
  freeAttempts: 3,
  baseDelaySeconds: 2,
  maxDelaySeconds: 30,
  maxConsecutiveFailures: 10,
  lockSeconds: 900,
  resetAfterSeconds: 3600,
};
const NOW = Date.UTC(2026, 0, 1);

describe('delaySeconds', () => {
  it('costs nothing for the free attempts, then doubles up to the cap, then locks for a period', () => {
    const delays = Array.from({ length: 12 }, (_, failures) =>
      ThrottleService.delaySeconds(rule, failures),
    );
    expect(delays).toEqual([0, 0, 0, 2, 4, 8, 16, 30, 30, 30, 900, 900]);
  });

  it('starts delaying at once without free attempts', () => {
    expect(ThrottleService.delaySeconds({ ...rule, freeAttempts: 0 }, 0)).toBe(2);
  });

  it('locks at maxConsecutiveFailures even while attempts would still be free', () => {
    expect(ThrottleService.delaySeconds({ ...rule, freeAttempts: 20 }, 10)).toBe(900);
  });
});

describe('waitSeconds', () => {
  it('is 0 while attempts are free, however recent the last failure', () => {
    expect(waitSeconds(rule, 2, NOW, NOW)).toBe(0);
  });

  it('counts the delay from the previous failure', () => {
    // 4th failure: 4 s after the previous one.
    expect(waitSeconds(rule, 4, NOW, NOW)).toBe(4);
    expect(waitSeconds(rule, 4, NOW - 1000, NOW)).toBe(3);
    expect(waitSeconds(rule, 4, NOW - 3500, NOW)).toBe(1); // rounded up: never "go ahead" early
    expect(waitSeconds(rule, 4, NOW - 4000, NOW)).toBe(0);
    expect(waitSeconds(rule, 4, NOW - 60_000, NOW)).toBe(0);
  });

  it('makes a locked subject wait out the lock', () => {
    expect(waitSeconds(rule, 10, NOW - 100_000, NOW)).toBe(800);
    expect(waitSeconds(rule, 10, NOW - 900_000, NOW)).toBe(0);
  });
});

describe('countedFailures', () => {
  it('counts nothing for a subject without failures', () => {
    expect(countedFailures(rule, [], NOW)).toEqual({ failures: 0, lastAt: 0 });
  });

  it('counts only the failures inside the reset window, and finds the latest', () => {
    const hour = 3_600_000;
    const times = [NOW - 2 * hour, NOW - hour, NOW - hour + 1, NOW - 5000, NOW - 60_000];
    expect(countedFailures(rule, times, NOW)).toEqual({ failures: 3, lastAt: NOW - 5000 });
  });

  it('forgets everything once the reset window has passed', () => {
    const times = Array.from({ length: 20 }, (_, i) => NOW - i * 1000);
    const later = NOW + rule.resetAfterSeconds * 1000;
    const { failures, lastAt } = countedFailures(rule, times, later);
    expect(failures).toBe(0);
    expect(waitSeconds(rule, failures, lastAt, later)).toBe(0);
  });
});
