/** SSH public keys (issue 6): the keys a user signs in to clusters with, and the authorized-keys lookup. */
import type { Composed } from '../../platform/feature.ts';
import type { Platform } from '../../platform/platform.ts';
import type { MfaParts } from '../mfa/index.ts';
import { SshPublicKeyRepository } from './ssh-public-key-repository.ts';
import { SshKeyService } from './ssh-key-service.ts';
import { registerSshKeyRoutes } from './ssh-key-routes.ts';
import { registerSshKeyPages } from './ssh-key-pages.ts';

export async function compose(p: Platform, uses: { mfa: MfaParts }): Promise<Composed> {
  const repo = new SshPublicKeyRepository(p.connection, p.now);
  await repo.ensureIndexes();
  const keys = new SshKeyService({ repo, accounts: p.accounts, audit: p.audit, now: p.now });
  const { sudo } = uses.mfa;
  const access = {
    public: p.config.sshKeys.authorizedKeysPublic,
    secret: p.config.sshKeys.authorizedKeysSecret,
  };
  return {
    provides: {},
    feature: {
      name: 'ssh-keys',
      register: ({ router, api, kit, nav }) => {
        registerSshKeyRoutes(api, {
          keys,
          sudo,
          clientTokens: { provider: p.provider, dpop: p.dpop },
          access,
        });
        registerSshKeyPages(router, { kit, nav, keys, sudo, now: p.now });
      },
    },
  };
}
