/**
 * An optional, short-lived, in-process memory of successful verifications (digest → credential
 * and owner), for deployments that want API-key requests to cost no database read. Off by
 * default (`credentials.verifyCacheMs: 0`): then every request reads the credential and its owner.
 *
 * What it changes, and what it does not:
 * - Expiry is still checked on every request against the cached expiry time.
 * - Deleting, revoking or flagging a credential on this instance forgets it at once, so it stops
 *   working on the next request here. Another instance may accept it for up to the TTL.
 * - Disabling the owner (done elsewhere) takes effect within the TTL, not on the next request.
 */
import type { Account } from '../repositories/account-repository.ts';
import type { PersonalCredential } from '../repositories/personal-credential-repository.ts';

interface Entry { credential: PersonalCredential; account: Account; until: number }

export class VerifyCache {
  readonly #ttlMs: number;
  readonly #max: number;
  readonly #now: () => number;
  readonly #entries = new Map<string, Entry>();

  constructor(ttlMs: number, now: () => number, max = 10_000) {
    this.#ttlMs = ttlMs;
    this.#now = now;
    this.#max = max;
  }

  get enabled(): boolean { return this.#ttlMs > 0; }

  get(digest: string): { credential: PersonalCredential; account: Account } | undefined {
    const entry = this.#entries.get(digest);
    if (!entry) return undefined;
    if (entry.until <= this.#now()) {
      this.#entries.delete(digest);
      return undefined;
    }
    return entry;
  }

  set(digest: string, credential: PersonalCredential, account: Account): void {
    if (!this.enabled) return;
    if (this.#entries.size >= this.#max) this.#entries.delete(this.#entries.keys().next().value!);
    this.#entries.set(digest, { credential, account, until: this.#now() + this.#ttlMs });
  }

  forget(credential: PersonalCredential): void {
    this.#entries.delete(credential.digest);
  }

  forgetOwner(ownerId: string): void {
    for (const [digest, e] of this.#entries) if (e.credential.ownerId === ownerId) this.#entries.delete(digest);
  }
}
