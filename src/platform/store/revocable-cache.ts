/**
 * An in-process memory of successful verifications (API keys and CLI tokens by digest, OAuth
 * access tokens by value digest), so that a request with a credential costs no database read
 * (BENCHMARKS.md).
 *
 * Why it is safe:
 * - Expiry is checked on every request against the remembered expiry time.
 * - Every revocation (delete, leak report, enforce-mfa suspension, disabled owner, revoked OAuth
 *   token or grant) is announced on the ChangeSignal. An announcement made here empties the
 *   cache before the next request; one made by another process (replica, admin script) is seen
 *   within one poll interval.
 * - A verification that started before a revocation is not remembered (generation tickets).
 * - When the signal is not fresh (its poll failed or lags), the cache answers nothing and every
 *   request reads the database.
 * - Entries live at most `ttlMs` (other account changes, e.g. a new display name, show within
 *   that time).
 * Failed verifications are never remembered: a credential created on another replica works at once.
 *
 * Concurrent misses for one key share one lookup (so emptying the cache under load costs one
 * lookup per credential, not one per waiting request). A lookup is shared only within one
 * generation: a request that arrives after a revocation never joins a read made before it.
 */
import type { ChangeSignal } from './change-signal.ts';

export interface RevocableCacheOptions<V> {
  ttlMs: number;
  now: () => number;
  signal: ChangeSignal;
  /** Which results of a lookup are successful verifications, worth remembering. */
  isHit: (result: unknown) => result is V;
  /** When a remembered value stops being valid by itself (epoch ms), if ever. */
  expiresAt: (value: V) => number | undefined;
  max?: number;
}

interface Entry<V> {
  value: V;
  until: number;
  expiresAt?: number;
}

export class RevocableCache<V> {
  readonly #o: RevocableCacheOptions<V>;
  readonly #entries = new Map<string, Entry<V>>();
  readonly #inFlight = new Map<string, Promise<unknown>>();
  #generation = -1;

  constructor(options: RevocableCacheOptions<V>) {
    this.#o = options;
  }

  get #usable(): boolean {
    if (this.#o.ttlMs <= 0 || !this.#o.signal.fresh) return false;
    if (this.#generation !== this.#o.signal.generation) {
      this.#entries.clear();
      this.#generation = this.#o.signal.generation;
    }
    return true;
  }

  /** The remembered value for `key`, else `load()`'s answer (remembered when it is a hit). */
  async through<Miss>(key: string, load: () => Promise<V | Miss>): Promise<V | Miss> {
    const hit = this.#get(key);
    if (hit) return hit;
    const ticket = this.#o.signal.generation;
    const flightKey = `${ticket}:${key}`;
    let flight = this.#inFlight.get(flightKey) as Promise<V | Miss> | undefined;
    if (!flight) {
      flight = load()
        .then((result) => {
          if (this.#o.isHit(result)) this.#set(key, result, ticket);
          return result;
        })
        .finally(() => this.#inFlight.delete(flightKey));
      this.#inFlight.set(flightKey, flight);
    }
    return flight;
  }

  /** The remembered value for `key`, if any; never loads. */
  peek(key: string): V | undefined {
    return this.#get(key);
  }

  #get(key: string): V | undefined {
    if (!this.#usable) return undefined;
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    const now = this.#o.now();
    if (entry.until <= now || (entry.expiresAt !== undefined && entry.expiresAt <= now)) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  #set(key: string, value: V, ticket: number): void {
    // A result read under an older generation may predate a revocation: not remembered.
    if (!this.#usable || ticket !== this.#generation) return;
    const max = this.#o.max ?? 10_000;
    if (this.#entries.size >= max) this.#entries.delete(this.#entries.keys().next().value!);
    this.#entries.set(key, {
      value,
      until: this.#o.now() + this.#o.ttlMs,
      expiresAt: this.#o.expiresAt(value),
    });
  }
}
