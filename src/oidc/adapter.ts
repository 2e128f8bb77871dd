import type { Adapter, AdapterPayload } from 'oidc-provider';
import type { OidcPayloadRepository } from '../repositories/oidc-payload-repository.ts';

/** Builds the oidc-provider adapter class over the payload repository (see that file for the layout). */
export function createAdapterClass(repo: OidcPayloadRepository): new (name: string) => Adapter {
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
    async destroy(id: string): Promise<void> { await repo.destroy(this.name, id); }
    async revokeByGrantId(grantId: string): Promise<void> { await repo.revokeByGrantId(grantId); }
  };
}
