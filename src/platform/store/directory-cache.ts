/**
 * In-process cache of read-mostly directory data (accounts by id, memberships, organizations,
 * policies, 2-step factors), so a sign-in or a policy check does not read them every time. It is
 * the credential cache's mechanism (revocable-cache.ts) on the same change signal: every write to
 * those repositories announces a change, which empties this process's caches before the next
 * request and every other process's within one poll (`credentials.revocationPollMs`); entries
 * live at most `ttlMs`, and when the signal is not fresh nothing is answered from memory. The
 * signal is shared on purpose: with two, a process could see a revocation first, re-verify a
 * credential against an account its directory cache still held from before the change, and
 * remember that verification.
 */
import type { ReadThrough } from './read-through.ts';
import type { ChangeSignal } from './change-signal.ts';
import { RevocableCache } from './revocable-cache.ts';

interface Boxed {
  value: unknown;
}

export function directoryCache(deps: {
  signal: ChangeSignal;
  ttlMs: number;
  now: () => number;
}): ReadThrough {
  const cache = new RevocableCache<Boxed>({
    ttlMs: deps.ttlMs,
    now: deps.now,
    signal: deps.signal,
    max: 20_000,
    // Every answer is worth remembering, "none" included: a write announces a change anyway.
    isHit: (_result): _result is Boxed => true,
    expiresAt: () => undefined,
  });
  return {
    async read<V>(key: string, load: () => Promise<V>): Promise<V> {
      return (await cache.through(key, async () => ({ value: await load() }))).value as V;
    },
    changed: () => deps.signal.announce(),
  };
}
