/**
 * An in-process memory of successful verifications (digest → credential and owner), so that a
 * request with an API key or CLI token costs no database read (BENCHMARKS.md).
 *
 * Why it is safe:
 * - Expiry is checked on every request against the cached expiry time.
 * - Every revocation (delete, leak report, enforce-mfa suspension, disabled owner) is announced
 *   on the ChangeSignal. An announcement made here empties the cache before the next request; one
 *   made by another process (replica, admin script) is seen within one poll interval.
 * - A verification that started before a revocation is not remembered (generation tickets).
 * - When the signal is not fresh (its poll failed or lags), the cache answers nothing and every
 *   request reads the database.
 * - Entries live at most `credentials.verifyCacheMs` (other account changes, e.g. a new display
 *   name, show within that time).
 * Unknown digests are never cached: a key created on another replica works at once.
 */
import type { Account } from '../repositories/account-repository.ts';
import type { PersonalCredential } from '../repositories/personal-credential-repository.ts';
import type { ChangeSignal } from './change-signal.ts';

interface Entry { credential: PersonalCredential; account: Account; until: number }

export class VerifyCache {
  readonly #ttlMs: number;
  readonly #max: number;
  readonly #now: () => number;
  readonly #signal: ChangeSignal;
  readonly #entries = new Map<string, Entry>();
  #generation = -1;

  constructor(ttlMs: number, now: () => number, signal: ChangeSignal, max = 10_000) {
    this.#ttlMs = ttlMs;
    this.#now = now;
    this.#signal = signal;
    this.#max = max;
  }

  get #usable(): boolean {
    if (this.#ttlMs <= 0 || !this.#signal.fresh) return false;
    if (this.#generation !== this.#signal.generation) {
      this.#entries.clear();
      this.#generation = this.#signal.generation;
    }
    return true;
  }

  /** Taken before reading the database; `set` ignores results read under an older generation. */
  ticket(): number {
    return this.#signal.generation;
  }

  get(digest: string): { credential: PersonalCredential; account: Account } | undefined {
    if (!this.#usable) return undefined;
    const entry = this.#entries.get(digest);
    if (!entry) return undefined;
    if (entry.until <= this.#now()) {
      this.#entries.delete(digest);
      return undefined;
    }
    return entry;
  }

  set(digest: string, credential: PersonalCredential, account: Account, ticket: number): void {
    if (!this.#usable || ticket !== this.#generation) return;
    if (this.#entries.size >= this.#max) this.#entries.delete(this.#entries.keys().next().value!);
    this.#entries.set(digest, { credential, account, until: this.#now() + this.#ttlMs });
  }
}
