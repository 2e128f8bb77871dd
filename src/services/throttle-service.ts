/**
 * Progressive delays for failed attempts (NIST 800-63B §5.2.2): the first `freeAttempts` failures
 * cost nothing, then each failure doubles the wait up to `maxDelaySeconds`; after
 * `maxConsecutiveFailures` the subject is stopped for `lockSeconds`, a period, never forever.
 * A success resets the subject's count; a count untouched for `resetAfterSeconds` starts over.
 */
import type { ThrottleRepository, FailureCounter } from '../repositories/throttle-repository.ts';

export interface ThrottleRule {
  freeAttempts: number;
  baseDelaySeconds: number;
  maxDelaySeconds: number;
  maxConsecutiveFailures: number;
  lockSeconds: number;
  resetAfterSeconds: number;
}

export interface ThrottleSubject { key: string; rule: ThrottleRule }

export class ThrottleService {
  readonly #repo: ThrottleRepository;
  readonly #now: () => number;

  constructor(repo: ThrottleRepository, now: () => number) {
    this.#repo = repo;
    this.#now = now;
  }

  #stale(c: FailureCounter | undefined, rule: ThrottleRule): boolean {
    return !c || this.#now() - c.lastFailureAt.getTime() > rule.resetAfterSeconds * 1000;
  }

  static delaySeconds(rule: ThrottleRule, failures: number): number {
    if (failures >= rule.maxConsecutiveFailures) return rule.lockSeconds;
    if (failures < rule.freeAttempts) return 0;
    return Math.min(rule.baseDelaySeconds * 2 ** (failures - rule.freeAttempts), rule.maxDelaySeconds);
  }

  /** Seconds the caller must still wait before another attempt (0: go ahead). */
  async retryAfter(subjects: ThrottleSubject[]): Promise<number> {
    let wait = 0;
    for (const { key, rule } of subjects) {
      const c = await this.#repo.get(key);
      if (this.#stale(c, rule)) continue;
      const delay = ThrottleService.delaySeconds(rule, c!.failures);
      if (delay === 0) continue;
      const until = c!.lastFailureAt.getTime() + delay * 1000;
      wait = Math.max(wait, Math.ceil((until - this.#now()) / 1000));
    }
    return wait;
  }

  async recordFailure(subjects: ThrottleSubject[]): Promise<void> {
    for (const { key, rule } of subjects) {
      const c = await this.#repo.get(key);
      await this.#repo.recordFailure(key, new Date(this.#now()), this.#stale(c, rule));
    }
  }

  async reset(key: string): Promise<void> {
    await this.#repo.reset(key);
  }
}
