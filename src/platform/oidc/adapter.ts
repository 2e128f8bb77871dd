import { errors, type Adapter, type AdapterPayload } from 'oidc-provider';
import type { OidcPayloadRepository } from './oidc-payload-repository.ts';
import type { OnceClaims } from '../store/once-marker-repository.ts';
import type { TokenPayloadCache } from './token-payload-cache.ts';

/**
 * Models whose removal ends tokens that Keyward's API or the token cache may have remembered as
 * valid (credential caches; token-payload-cache.ts).
 */
const REVOKING_MODELS = new Set(['AccessToken', 'ClientCredentials', 'Grant']);
/**
 * Grant sources the provider checks the Grant of BEFORE consuming them. A replay of one of these
 * also deletes the Grant, so tokens the winner is still issuing are dead on arrival. A device
 * code's Grant is checked after consuming, so deleting it would fail the winner too: a replayed
 * device code revokes what was issued so far and leaves the Grant.
 */
const GRANT_CHECKED_FIRST = new Set(['AuthorizationCode', 'RefreshToken']);

export interface AdapterDeps {
  repo: OidcPayloadRepository;
  /** Told when access tokens or grants are revoked (change-signal.ts). */
  revocations: { announce(): Promise<void> };
  /** Single use of codes and refresh tokens (once-marker-repository.ts). */
  once: OnceClaims;
  /** How long a consumed marker is kept: at least the longest life of anything consumable. */
  consumedTtlSeconds: number;
  now: () => number;
  /** Remembers access and client-credentials tokens in memory (token-payload-cache.ts); none: every find reads. */
  tokens?: TokenPayloadCache;
}

/**
 * Builds the oidc-provider adapter class over the payload repository (see that file for the
 * layout). Removing an access token or a grant, and revoking by grant, is announced on
 * `revocations` once stored, so cached verifications of those tokens end.
 *
 * `consume` is where single use is decided. The provider checks `consumed` and then calls
 * `consume()`; two concurrent requests both pass that check, so consuming claims a marker whose
 * `_id` is the consumed value, which exactly one caller can insert. Every other caller gets
 * `invalid_grant` and, as for a sequential replay (RFC 9700 §4.14.2, OIDC Core §4.1.2), what the
 * grant issued is revoked (see GRANT_CHECKED_FIRST for the Grant itself). A sequential replay
 * takes the same path: nothing is written to the payload when it is consumed.
 */
export function createAdapterClass(deps: AdapterDeps): new (name: string) => Adapter {
  const { repo, revocations, once } = deps;

  async function revokeIssued(grantId: string, withGrant: boolean): Promise<void> {
    await repo.revokeByGrantId(grantId);
    if (withGrant) await repo.destroy('Grant', grantId);
    await revocations.announce();
  }

  return class MongoAdapter implements Adapter {
    readonly name: string;
    constructor(name: string) {
      this.name = name;
    }

    async upsert(id: string, payload: AdapterPayload, expiresIn: number): Promise<void> {
      await repo.upsert(this.name, id, payload as Record<string, unknown>, expiresIn);
    }

    async find(id: string): Promise<AdapterPayload | undefined> {
      if (deps.tokens)
        return deps.tokens.find(this.name, id, () => repo.find(this.name, id)) as Promise<
          AdapterPayload | undefined
        >;
      return repo.find(this.name, id) as Promise<AdapterPayload | undefined>;
    }

    async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
      return repo.findByUserCode(this.name, userCode) as Promise<AdapterPayload | undefined>;
    }

    async findByUid(uid: string): Promise<AdapterPayload | undefined> {
      return repo.findByUid(this.name, uid) as Promise<AdapterPayload | undefined>;
    }

    async consume(id: string): Promise<void> {
      const expiresAt = new Date(deps.now() + deps.consumedTtlSeconds * 1000);
      if (await once.claim(`consumed:${this.name}:${id}`, expiresAt)) return;
      const grantId = (await repo.findRaw(this.name, id))?.grantId;
      if (typeof grantId === 'string')
        await revokeIssued(grantId, GRANT_CHECKED_FIRST.has(this.name));
      throw new errors.InvalidGrant(`${this.name} already used; its grant is revoked`);
    }

    async destroy(id: string): Promise<void> {
      await repo.destroy(this.name, id);
      if (REVOKING_MODELS.has(this.name)) await revocations.announce();
    }

    async revokeByGrantId(grantId: string): Promise<void> {
      await repo.revokeByGrantId(grantId);
      await revocations.announce();
    }
  };
}
