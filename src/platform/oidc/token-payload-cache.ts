/**
 * In-process memory of the provider's access-token and client-credentials payloads, so that an
 * introspection (or any other lookup of a token) costs no database read once this process has read
 * the token. Tokens are remembered when read, not when issued: a grant storm of tokens nobody
 * introspects costs no memory and no extra work per grant. Without it an introspection costs three finds by `_id`: the provider
 * looks the value up as an AccessToken, a ClientCredentials token and a RefreshToken at once.
 *
 * Why it is safe (the credential cache's rules, on the same change signal: revocable-cache.ts):
 * - Only write-once models are remembered: Keyward's provider never changes a stored access token
 *   or client-credentials token, it only deletes it. Every deletion (RFC 7009 revocation, a grant
 *   revoked, a replayed code) is announced on the revocation signal, which empties this memory
 *   here before the next request and in every other process within one poll
 *   (`credentials.revocationPollMs`); a read that started before an announcement is not
 *   remembered; when the signal is not fresh, nothing is answered from memory.
 * - Expiry is checked against the payload's `exp` on every hit; entries live at most `ttlMs`.
 * - "Not found" is answered from memory only where memory proves it: token ids are 256-bit
 *   random values the provider generates, so a value remembered as one token model is absent
 *   from the others (an id remembered as a ClientCredentials token is no AccessToken or
 *   RefreshToken). Other misses always go to the database: a token issued by another process
 *   is found at once.
 * - Every hit answers a fresh copy (parsed from JSON), so the provider cannot change what is kept.
 */
import type { ChangeSignal } from '../store/change-signal.ts';
import { RevocableCache } from '../store/revocable-cache.ts';

export type TokenPayload = Record<string, unknown>;

/** The models whose payloads are remembered: written once, only ever deleted afterwards. */
export const REMEMBERED_MODELS: ReadonlySet<string> = new Set(['AccessToken', 'ClientCredentials']);
/** The models that share one space of random token ids (the provider's introspection and revocation look in all). */
const TOKEN_MODELS: ReadonlySet<string> = new Set([...REMEMBERED_MODELS, 'RefreshToken']);

interface Remembered {
  json: string;
  expiresAt?: number;
}

export interface TokenPayloadCacheOptions {
  signal: ChangeSignal;
  /** At most this long in memory (0: off). */
  ttlMs: number;
  now: () => number;
  max?: number;
}

export class TokenPayloadCache {
  readonly #cache: RevocableCache<Remembered>;

  constructor(o: TokenPayloadCacheOptions) {
    this.#cache = new RevocableCache<Remembered>({
      ttlMs: o.ttlMs,
      now: o.now,
      signal: o.signal,
      max: o.max ?? 50_000,
      isHit: (result): result is Remembered => result !== undefined,
      expiresAt: (value) => value.expiresAt,
    });
  }

  /** The payload of `model` `id`: from memory, proved absent by memory, or `load()`'s (remembered when found). */
  async find(
    model: string,
    id: string,
    load: () => Promise<TokenPayload | undefined>,
  ): Promise<TokenPayload | undefined> {
    if (TOKEN_MODELS.has(model)) {
      for (const other of REMEMBERED_MODELS)
        if (other !== model && this.#cache.peek(`${other}:${id}`)) return undefined;
    }
    if (!REMEMBERED_MODELS.has(model)) return load();
    let loaded: TokenPayload | undefined;
    const found = await this.#cache.through(`${model}:${id}`, async () => {
      loaded = await load();
      return loaded ? remembered(loaded) : undefined;
    });
    if (!found) return undefined;
    // The caller whose load ran gets its own fresh object; the others a copy of what is kept.
    return loaded ?? (JSON.parse(found.json) as TokenPayload);
  }
}

function remembered(payload: TokenPayload): Remembered {
  return {
    json: JSON.stringify(payload),
    expiresAt: typeof payload.exp === 'number' ? payload.exp * 1000 : undefined,
  };
}
