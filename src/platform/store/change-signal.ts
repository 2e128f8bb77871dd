/**
 * Tells every Keyward process that credentials were revoked somewhere, so that in-memory
 * verification caches (revocable-cache.ts) can be dropped.
 *
 * - `announce()` is called after a revocation is stored (a key or token deleted or reported as
 *   leaked, credentials suspended by a policy, an account disabled). It moves this process to a
 *   new generation at once, then stores a new random token for the other processes.
 * - A serving process polls the token every `pollMs` (one primary-key read). A token it has not
 *   seen moves it to a new generation.
 * - `fresh` is false when the last successful poll is older than `staleAfterMs` (database
 *   unreachable, event loop starved, poller never started, as in one-shot scripts). Caches must
 *   not answer then: a revocation may have been missed.
 *
 * A revocation made in this process therefore applies to the next request here; one made in
 * another process (another replica, the admin script) within one poll interval.
 */
import { randomUUID } from 'node:crypto';
import type { ChangeSignalRepository } from './change-signal-repository.ts';
import type { Logger } from '../logging/logger.ts';

export const CREDENTIAL_REVOCATIONS = 'credential-revocations';

export interface ChangeSignalDeps {
  repo: ChangeSignalRepository;
  name: string;
  pollMs: number;
  staleAfterMs: number;
  logger: Logger;
  /** Wall-clock time for the stored `changedAt`. */
  now: () => number;
  /** Elapsed-time clock for freshness (not affected by test clock offsets). */
  monotonic?: () => number;
}

export class ChangeSignal {
  readonly #d: ChangeSignalDeps;
  readonly #monotonic: () => number;
  #generation = 0;
  #token: string | undefined;
  #lastOkAt = Number.NEGATIVE_INFINITY;
  #timer: NodeJS.Timeout | undefined;
  #running = false;
  #failing = false;

  constructor(deps: ChangeSignalDeps) {
    this.#d = deps;
    this.#monotonic = deps.monotonic ?? (() => performance.now());
  }

  /** Changes whenever a revocation is announced here or seen from elsewhere. */
  get generation(): number {
    return this.#generation;
  }

  get fresh(): boolean {
    return this.#running && this.#monotonic() - this.#lastOkAt <= this.#d.staleAfterMs;
  }

  /**
   * Never fails the revocation that called it (that is already stored): this process's caches
   * are emptied at once; if the token cannot be stored, that is logged and retried in the
   * background until it is, and other processes keep cached entries at most until then (or
   * until the entries age out, `verifyCacheMs`).
   */
  async announce(): Promise<void> {
    this.#generation++;
    const token = randomUUID();
    this.#token = token;
    try {
      await this.#d.repo.write(this.#d.name, token, new Date(this.#d.now()));
    } catch (err) {
      this.#d.logger.error(
        { event: 'change_signal.announce_failed', signal: this.#d.name, error: String(err) },
        'could not store a revocation announcement; retrying',
      );
      this.#retryAnnounce(1);
    }
  }

  #retryAnnounce(attempt: number): void {
    const timer = setTimeout(
      () => {
        const token = randomUUID();
        this.#token = token;
        this.#d.repo.write(this.#d.name, token, new Date(this.#d.now())).then(
          () =>
            this.#d.logger.info(
              { event: 'change_signal.announced_late', signal: this.#d.name, attempt },
              'revocation announcement stored',
            ),
          () => {
            if (attempt < 60) this.#retryAnnounce(attempt + 1);
          },
        );
      },
      Math.min(5000, 100 * 2 ** attempt),
    );
    timer.unref();
  }

  /** Reads the token once now, then every pollMs until stop(). */
  async start(): Promise<void> {
    this.#running = true;
    await this.#poll();
  }

  stop(): void {
    this.#running = false;
    clearTimeout(this.#timer);
  }

  async #poll(): Promise<void> {
    const startedAt = this.#monotonic();
    try {
      const token = await this.#d.repo.read(this.#d.name);
      if (token !== this.#token) {
        this.#token = token;
        this.#generation++;
      }
      this.#lastOkAt = startedAt;
      if (this.#failing)
        this.#d.logger.info(
          { event: 'change_signal.recovered', signal: this.#d.name },
          'change signal readable again',
        );
      this.#failing = false;
    } catch (err) {
      if (!this.#failing)
        this.#d.logger.warn(
          { event: 'change_signal.poll_failed', signal: this.#d.name, error: String(err) },
          'change signal unreadable; caches bypassed',
        );
      this.#failing = true;
    }
    if (!this.#running) return;
    this.#timer = setTimeout(() => {
      void this.#poll();
    }, this.#d.pollMs);
    this.#timer.unref();
  }
}
