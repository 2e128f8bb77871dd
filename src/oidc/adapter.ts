import type { Adapter, AdapterPayload } from 'oidc-provider';
import type { OidcPayloadRepository } from '../repositories/oidc-payload-repository.ts';

/** Models whose removal ends access tokens that Keyward's API may have remembered as valid. */
const REVOKING_MODELS = new Set(['AccessToken', 'Grant']);

/**
 * Builds the oidc-provider adapter class over the payload repository (see that file for the
 * layout). Removing an access token or a grant, and revoking by grant, is announced on
 * `revocations` (change-signal.ts) once stored, so cached verifications of those tokens end.
 */
export function createAdapterClass(repo: OidcPayloadRepository, revocations: { announce(): Promise<void> }): new (name: string) => Adapter {
  return class MongoAdapter implements Adapter {
    readonly name: string;
    constructor(name: string) { this.name = name; }

    async upsert(id: string, payload: AdapterPayload, expiresIn: number): Promise<void> {
      await repo.upsert(this.name, id, payload as Record<string, unknown>, expiresIn);
    }

    async find(id: string): Promise<AdapterPayload | undefined> {
      return repo.find(this.name, id) as Promise<AdapterPayload | undefined>;
    }

    async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
      return repo.findByUserCode(this.name, userCode) as Promise<AdapterPayload | undefined>;
    }

    async findByUid(uid: string): Promise<AdapterPayload | undefined> {
      return repo.findByUid(this.name, uid) as Promise<AdapterPayload | undefined>;
    }

    async consume(id: string): Promise<void> { await repo.consume(this.name, id); }
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
