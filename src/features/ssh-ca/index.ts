/**
 * The SSH certificate authority (issue 7): CA key and certificate repositories, the CA (its first
 * key generated on first start), the certificate policies and service, and the REST routes. The
 * sign-in evidence of OAuth tokens and CLI tokens comes from the provider and the API-key service.
 */
import type Provider from 'oidc-provider';
import type { Composed } from '../../platform/feature.ts';
import type { Platform } from '../../platform/platform.ts';
import type { MfaParts } from '../mfa/index.ts';
import type { ApiKeysProvides } from '../api-keys/index.ts';
import type { PersonalCredentialService } from '../api-keys/api-key-service.ts';
import type { SignInEvidenceSources } from './sign-in-evidence.ts';
import { SshCaRepository } from './ssh-ca-repository.ts';
import { SshCertificateRepository } from './ssh-certificate-repository.ts';
import { SshCaService } from './ssh-ca-service.ts';
import { SshCertificateService } from './ssh-certificate-service.ts';
import { registerSshCertificatePolicies } from './ssh-certificate-policy.ts';
import { registerSshCaRoutes } from './ssh-ca-routes.ts';

/** Where the sign-in behind CLI tokens and OAuth access tokens is looked up (see sign-in-evidence.ts). */
function evidenceSources(
  provider: Provider,
  credentials: PersonalCredentialService,
): SignInEvidenceSources {
  return {
    async credentialCreatedWithMfa(accountId, credentialId) {
      return (
        (await credentials.list(accountId)).find((c) => c.id === credentialId)?.createdWithMfa ??
        false
      );
    },
    async accessTokenAmr(tokenId) {
      const token = await provider.AccessToken.find(tokenId);
      if (!token?.sessionUid || !token.accountId) return undefined;
      const session = await provider.Session.findByUid(token.sessionUid);
      return session && session.accountId === token.accountId ? (session.amr ?? []) : undefined;
    },
  };
}

export async function compose(
  p: Platform,
  uses: { mfa: MfaParts; apiKeys: ApiKeysProvides },
): Promise<Composed<{ ca: SshCaService; certificates: SshCertificateService }>> {
  const { connection, config, now } = p;
  const settings = config.sshCertificates;
  const caRepo = new SshCaRepository(connection, now);
  const certRepo = new SshCertificateRepository(connection, now);
  await caRepo.ensureIndexes();
  await certRepo.ensureIndexes();
  registerSshCertificatePolicies(p.policies);

  const ca = new SshCaService({
    repo: caRepo,
    envelope: p.keys.envelope,
    audit: p.audit,
    logger: p.logger,
    algorithm: settings.caAlgorithm,
  });
  await ca.ensureKey();
  const certificates = new SshCertificateService({
    repo: certRepo,
    ca,
    organizations: p.organizations,
    policies: p.policies,
    audit: p.audit,
    now,
    mfaRequirement: (accountId) => uses.mfa.mfa.requirement(accountId),
    evidence: evidenceSources(p.provider, uses.apiKeys.service),
    clockSkewSeconds: settings.clockSkewSeconds,
    reservedPrincipals: settings.reservedPrincipals.map((r) => r.toLowerCase()),
  });
  return {
    provides: { ca, certificates },
    feature: {
      name: 'ssh-ca',
      register: ({ api }) => registerSshCaRoutes(api, { ca, certificates }),
    },
  };
}
