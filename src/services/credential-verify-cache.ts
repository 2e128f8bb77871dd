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
 *
 * Concurrent misses for one digest share one database lookup (so emptying the cache under load
 * costs one lookup per credential, not one per waiting request). A lookup is shared only within
 * one generation: a request that arrives after a revocation never joins a read made before it.
 */
import type { Account } from '../repositories/account-repository.ts';
import type { PersonalCredential } from '../repositories/personal-credential-repository.ts';
import type { ChangeSignal } from './change-signal.ts';

interface Hit { credential: PersonalCredential; account: Account }
interface Entry extends Hit { until: number }

export class VerifyCache {
  readonly #ttlMs: number;
  readonly #max: number;
  readonly #now: () => number;
  readonly #signal: ChangeSignal;
  readonly #entries = new Map<string, Entry>();
  readonly #inFlight = new Map<string, Promise<unknown>>();
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

  /**
   * The remembered verification of `digest`, else `load()`'s answer (remembered when it is a hit).
   * An expired credential is never answered from memory.
   */
  async through<Miss>(digest: string, load: () => Promise<Hit | Miss>): Promise<Hit | Miss> {
    const hit = this.#get(digest);
    if (hit) return hit;
    const ticket = this.#signal.generation;
    const key = `${ticket}:${digest}`;
    let flight = this.#inFlight.get(key) as Promise<Hit | Miss> | undefined;
    if (!flight) {
      flight = load().then((result) => {
        if (typeof result === 'object' && result !== null && 'credential' in result && 'account' in result) this.#set(digest, result as Hit, ticket);
        return result;
      }).finally(() => this.#inFlight.delete(key));
      this.#inFlight.set(key, flight);
    }
    return flight;
  }

  #get(digest: string): Hit | undefined {
    if (!this.#usable) return undefined;
    const entry = this.#entries.get(digest);
    if (!entry) return undefined;
    const now = this.#now();
    if (entry.until <= now || (entry.credential.expiresAt && entry.credential.expiresAt.getTime() <= now)) {
      this.#entries.delete(digest);
      return undefined;
    }
    return entry;
  }

  #set(digest: string, hit: Hit, ticket: number): void {
    // A result read under an older generation may predate a revocation: not remembered.
    if (!this.#usable || ticket !== this.#generation) return;
    if (this.#entries.size >= this.#max) this.#entries.delete(this.#entries.keys().next().value!);
    this.#entries.set(digest, { ...hit, until: this.#now() + this.#ttlMs });
  }
}
