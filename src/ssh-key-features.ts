/** SSH keys (issue 6): public keys for cluster login, private keys kept for the platform. */
import type Provider from 'oidc-provider';
import type { Feature } from './http/feature.ts';
import { registerSshKeyRoutes, type AuthorizedKeysAccess } from './http/routes/ssh-key-routes.ts';
import { registerSshKeyPages } from './http/routes/ssh-key-pages.ts';
import { registerSshPrivateKeyRoutes } from './http/routes/ssh-private-key-routes.ts';
import { registerSshPrivateKeyPages } from './http/routes/ssh-private-key-pages.ts';
import { registerSshPlatformRoutes } from './http/routes/ssh-platform-routes.ts';
import type { AccountService } from './services/account-service.ts';
import type { OrganizationService } from './services/organization-service.ts';
import type { SshKeyService } from './services/ssh-key-service.ts';
import type { SshPrivateKeyService } from './services/ssh-private-key-service.ts';
import type { SudoGuard } from './services/sudo-service.ts';
import type { DpopProofs } from './http/auth/dpop-proof.ts';

export interface SshKeyFeatureDeps {
  publicKeys: SshKeyService;
  privateKeys: SshPrivateKeyService;
  accounts: AccountService;
  organizations: OrganizationService;
  sudo: SudoGuard;
  provider: Provider;
  /** Checks DPoP proofs of client_credentials tokens bound to a key. */
  dpop: DpopProofs;
  access: AuthorizedKeysAccess;
  now: () => number;
}

export function sshKeyFeatures(d: SshKeyFeatureDeps): Feature[] {
  const clientTokens = { provider: d.provider, dpop: d.dpop };
  return [
    {
      name: 'ssh-public-keys',
      register: ({ router, api, kit, nav }) => {
        registerSshKeyRoutes(api, { keys: d.publicKeys, sudo: d.sudo, clientTokens, access: d.access });
        registerSshKeyPages(router, { kit, nav, keys: d.publicKeys, sudo: d.sudo, now: d.now });
      },
    },
    {
      name: 'ssh-private-keys',
      register: ({ router, api, kit, nav }) => {
        registerSshPrivateKeyRoutes(api, { keys: d.privateKeys, accounts: d.accounts, organizations: d.organizations, sudo: d.sudo });
        registerSshPlatformRoutes(api, { keys: d.privateKeys, clientTokens });
        registerSshPrivateKeyPages(router, { kit, nav, keys: d.privateKeys, sudo: d.sudo });
      },
    },
  ];
}
