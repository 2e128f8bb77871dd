/**
 * Builds the SSH certificate authority (issue 7): CA key and certificate repositories, the CA
 * (its first key generated on first start), the certificate policies and service, and the
 * feature with its REST routes. Called once from the composition root, after the provider and
 * the API-key service exist (the sign-in evidence of OAuth tokens and CLI tokens comes from them).
 */
import type Provider from 'oidc-provider';
import type { Connection } from './db/connect.ts';
import type { Config } from './config/schema.ts';
import type { Logger } from './logging/logger.ts';
import type { Feature } from './http/feature.ts';
import type { ServerKeys } from './services/server-keys.ts';
import type { AuditService } from './services/audit-service.ts';
import type { OrganizationService } from './services/organization-service.ts';
import type { PolicyService } from './services/policy-service.ts';
import type { MfaService } from './services/mfa-service.ts';
import type { PersonalCredentialService } from './services/personal-credential-service.ts';
import type { SignInEvidenceSources } from './services/sign-in-evidence.ts';
import { SshCaRepository } from './repositories/ssh-ca-repository.ts';
import { SshCertificateRepository } from './repositories/ssh-certificate-repository.ts';
import { SshCaService } from './services/ssh-ca-service.ts';
import { SshCertificateService } from './services/ssh-certificate-service.ts';
import { registerSshCertificatePolicies } from './services/ssh-certificate-policy.ts';
import { registerSshCaRoutes } from './http/routes/ssh-ca-routes.ts';

export interface SshCaCompositionDeps {
  connection: Connection; config: Config; logger: Logger; now: () => number; keys: ServerKeys; provider: Provider;
  organizations: OrganizationService; policies: PolicyService; audit: AuditService; mfa: MfaService;
  credentials: PersonalCredentialService;
}

export interface SshCaParts {
  ca: SshCaService;
  certificates: SshCertificateService;
  feature: Feature;
}

/** Where the sign-in behind CLI tokens and OAuth access tokens is looked up (see sign-in-evidence.ts). */
function evidenceSources(provider: Provider, credentials: PersonalCredentialService): SignInEvidenceSources {
  return {
    async credentialCreatedWithMfa(accountId, credentialId) {
      return (await credentials.list(accountId)).find((c) => c.id === credentialId)?.createdWithMfa ?? false;
    },
    async accessTokenAmr(tokenId) {
      const token = await provider.AccessToken.find(tokenId);
      if (!token?.sessionUid || !token.accountId) return undefined;
      const session = await provider.Session.findByUid(token.sessionUid);
      return session && session.accountId === token.accountId ? session.amr ?? [] : undefined;
    },
  };
}

export async function composeSshCa(deps: SshCaCompositionDeps): Promise<SshCaParts> {
  const { connection, config, now } = deps;
  const settings = config.sshCertificates;
  const caRepo = new SshCaRepository(connection, now);
  const certRepo = new SshCertificateRepository(connection, now);
  await caRepo.ensureIndexes();
  await certRepo.ensureIndexes();
  registerSshCertificatePolicies(deps.policies);

  const ca = new SshCaService({ repo: caRepo, envelope: deps.keys.envelope, audit: deps.audit, logger: deps.logger, algorithm: settings.caAlgorithm });
  await ca.ensureKey();
  const certificates = new SshCertificateService({
    repo: certRepo, ca, organizations: deps.organizations, policies: deps.policies, audit: deps.audit, now,
    mfaRequirement: (accountId) => deps.mfa.requirement(accountId),
    evidence: evidenceSources(deps.provider, deps.credentials),
    clockSkewSeconds: settings.clockSkewSeconds,
    reservedPrincipals: settings.reservedPrincipals.map((p) => p.toLowerCase()),
  });
  return {
    ca, certificates,
    feature: { name: 'ssh-certificates', register: ({ api }) => registerSshCaRoutes(api, { ca, certificates }) },
  };
}
