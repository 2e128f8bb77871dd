/**
 * Progressive delays for failed attempts (NIST 800-63B §5.2.2), counted BEFORE the work: an
 * attempt reserves its place (a slot, see throttle-repository.ts) before the password or code is
 * checked, so a burst of N simultaneous attempts is N attempts, not N checks of a count that
 * none of them has raised yet.
 *
 * The rule: of the failures a subject made in the last `resetAfterSeconds`, the first
 * `freeAttempts` cost nothing; then each one doubles the wait (from `baseDelaySeconds`, up to
 * `maxDelaySeconds`) counted from the previous one; from `maxConsecutiveFailures` on, the wait is
 * `lockSeconds`, a period, never forever. So of any burst against one subject, at most
 * `freeAttempts` are evaluated before the delays start. A success resets the subjects marked
 * `resetOnSuccess` and gives the other reservations back (a right code is not a failure).
 */
import type { ThrottleRepository } from './throttle-repository.ts';

export interface ThrottleRule {
  freeAttempts: number;
  baseDelaySeconds: number;
  maxDelaySeconds: number;
  maxConsecutiveFailures: number;
  lockSeconds: number;
  resetAfterSeconds: number;
}

export interface ThrottleSubject {
  key: string;
  rule: ThrottleRule;
  /** A success clears this subject's failures (the account's, say), rather than only its own attempt. */
  resetOnSuccess?: boolean;
}

/** A reserved attempt: tell it how the check went. */
export interface Attempt {
  succeeded(): Promise<void>;
  /** The reservations stay: they are the failures. */
  failed(): Promise<void>;
  /** The attempt could not be judged (an error, not a wrong secret): the reservations are given back. */
  cancel(): Promise<void>;
}

interface Held {
  subject: ThrottleSubject;
  slot: number;
  earlier: boolean;
  wait?: undefined;
}

export type Reservation = { wait: number; attempt?: undefined } | { wait: 0; attempt: Attempt };

/** The failures that count (those in the last `resetAfterSeconds`) and when the latest was (0: none). */
export function countedFailures(
  rule: ThrottleRule,
  failureTimesMs: number[],
  nowMs: number,
): { failures: number; lastAt: number } {
  const since = nowMs - rule.resetAfterSeconds * 1000;
  const counted = failureTimesMs.filter((t) => t > since);
  return { failures: counted.length, lastAt: counted.reduce((t, at) => Math.max(t, at), 0) };
}

/** Seconds to wait before attempt number `failures` (0-based) when the previous one was at `lastAt`. */
export function waitSeconds(
  rule: ThrottleRule,
  failures: number,
  lastAt: number,
  nowMs: number,
): number {
  const delay = ThrottleService.delaySeconds(rule, failures);
  return delay === 0 ? 0 : Math.max(0, Math.ceil((lastAt + delay * 1000 - nowMs) / 1000));
}

/** Attempts a claim may lose to concurrent ones before it gives up and asks the caller to wait. */
const MAX_CLAIM_TRIES = 64;

export class ThrottleService {
  readonly #repo: ThrottleRepository;
  readonly #now: () => number;

  constructor(repo: ThrottleRepository, now: () => number) {
    this.#repo = repo;
    this.#now = now;
  }

  static delaySeconds(rule: ThrottleRule, failures: number): number {
    if (failures >= rule.maxConsecutiveFailures) return rule.lockSeconds;
    if (failures < rule.freeAttempts) return 0;
    return Math.min(
      rule.baseDelaySeconds * 2 ** (failures - rule.freeAttempts),
      rule.maxDelaySeconds,
    );
  }

  /** Where the subject stands: the next free slot, the failures that count, and the latest one. */
  async #standing(subject: ThrottleSubject) {
    const { slots } = await this.#repo.attempts(subject.key);
    return {
      next: slots.length ? slots[slots.length - 1].slot + 1 : 0,
      ...countedFailures(
        subject.rule,
        slots.map((s) => s.at.getTime()),
        this.#now(),
      ),
    };
  }

  #wait(rule: ThrottleRule, failures: number, lastAt: number): number {
    return waitSeconds(rule, failures, lastAt, this.#now());
  }

  /** Seconds the caller must still wait before another attempt (0: go ahead); reserves nothing. */
  async retryAfter(subjects: ThrottleSubject[]): Promise<number> {
    let wait = 0;
    for (const subject of subjects) {
      const s = await this.#standing(subject);
      wait = Math.max(wait, this.#wait(subject.rule, s.failures, s.lastAt));
    }
    return wait;
  }

  /** Reserves one attempt on every subject, or answers how long to wait (nothing is then reserved). */
  async reserve(subjects: ThrottleSubject[]): Promise<Reservation> {
    const claims = await Promise.all(subjects.map((subject) => this.#claim(subject)));
    const held = claims.filter((c): c is Held => c.slot !== undefined);
    const giveBack = () =>
      Promise.all(held.map((h) => this.#repo.release(h.subject.key, h.slot))).then(() => undefined);
    const wait = Math.max(0, ...claims.map((c) => c.wait ?? 0));
    if (held.length < subjects.length) {
      await giveBack();
      return { wait: Math.max(1, wait) };
    }
    return {
      wait: 0,
      attempt: {
        // A subject with earlier failures is reset; otherwise only this attempt's slot goes.
        succeeded: () =>
          Promise.all(
            held.map((h) =>
              h.subject.resetOnSuccess && h.earlier
                ? this.#repo.reset(h.subject.key)
                : this.#repo.release(h.subject.key, h.slot),
            ),
          ).then(() => undefined),
        failed: async () => undefined,
        cancel: giveBack,
      },
    };
  }

  /** Claims the subject's next slot, unless its delay says wait. */
  async #claim(subject: ThrottleSubject): Promise<Held | { slot?: undefined; wait: number }> {
    let { next, failures, lastAt } = await this.#standing(subject);
    const earlier = next > 0;
    for (let i = 0; i < MAX_CLAIM_TRIES; i++) {
      const wait = this.#wait(subject.rule, failures, lastAt);
      if (wait > 0) return { wait };
      const at = this.#now();
      if (await this.#repo.claim(subject.key, next, new Date(at)))
        return { subject, slot: next, earlier };
      // Another attempt took this slot just now: it is one more failure, made now.
      [next, failures, lastAt] = [next + 1, failures + 1, at];
    }
    return { wait: Math.max(1, subject.rule.baseDelaySeconds) };
  }

  /**
   * Runs `check` as one throttled attempt: answers its result, or the wait when the subjects are
   * throttled (the check then never runs).
   */
  async attempt<T>(
    subjects: ThrottleSubject[],
    check: () => Promise<T | undefined>,
  ): Promise<{ wait: number; result?: T }> {
    const r = await this.reserve(subjects);
    if (!r.attempt) return { wait: r.wait };
    let result: T | undefined;
    try {
      result = await check();
    } catch (err) {
      await r.attempt.cancel();
      throw err;
    }
    if (result === undefined || result === false) await r.attempt.failed();
    else await r.attempt.succeeded();
    return { wait: 0, result };
  }
}
