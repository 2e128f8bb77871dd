/** SSH private keys (issue 6): kept sealed for the platform, which signs with them for the user. */
import type { Composed } from '../../platform/feature.ts';
import type { Platform } from '../../platform/platform.ts';
import type { MfaParts } from '../mfa/index.ts';
import { SshPrivateKeyRepository } from './ssh-private-key-repository.ts';
import { SshPrivateKeyService } from './ssh-private-key-service.ts';
import { PrivateKeyReader } from './ssh-private-key-reader.ts';
import { registerSshPrivateKeyRoutes } from './ssh-private-key-routes.ts';
import { registerSshPrivateKeyPages } from './ssh-private-key-pages.ts';
import { registerSshPlatformRoutes } from './ssh-platform-routes.ts';

export async function compose(p: Platform, uses: { mfa: MfaParts }): Promise<Composed> {
  const repo = new SshPrivateKeyRepository(p.connection, p.now);
  await repo.ensureIndexes();
  const keys = new SshPrivateKeyService({
    repo,
    envelope: p.keys.envelope,
    accounts: p.accounts,
    audit: p.audit,
    auditRepo: p.auditRepo,
    reader: new PrivateKeyReader(),
    logger: p.logger,
  });
  const { sudo } = uses.mfa;
  const clientTokens = { provider: p.provider, dpop: p.dpop };
  return {
    provides: {},
    feature: {
      name: 'ssh-private-keys',
      register: ({ router, api, kit, nav }) => {
        registerSshPrivateKeyRoutes(api, {
          keys,
          accounts: p.accounts,
          organizations: p.organizations,
          sudo,
        });
        registerSshPlatformRoutes(api, { keys, clientTokens });
        registerSshPrivateKeyPages(router, { kit, nav, keys, sudo });
      },
    },
  };
}
