/**
 * The composition root: config in, everything built in order (database, repositories, keys,
 * services, provider, app), one `close()` out. Entry points and tests call this; nothing else
 * constructs long-lived objects.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type Koa from 'koa';
import type Provider from 'oidc-provider';
import type { Config } from './config/schema.ts';
import { createLogger, type Logger } from './logging/logger.ts';
import { connectDatabase, pingDatabase } from './db/connect.ts';
import { startEmbeddedDatabase } from './db/embedded.ts';
import { AccountRepository } from './repositories/account-repository.ts';
import { OrganizationRepository } from './repositories/organization-repository.ts';
import { OidcPayloadRepository } from './repositories/oidc-payload-repository.ts';
import { ThrottleRepository } from './repositories/throttle-repository.ts';
import { SecretRepository } from './repositories/secret-repository.ts';
import { OnceMarkerRepository } from './repositories/once-marker-repository.ts';
import { PasswordHasher } from './crypto/password-hasher.ts';
import { PasswordPolicy } from './services/password-policy.ts';
import { ThrottleService } from './services/throttle-service.ts';
import { AccountService } from './services/account-service.ts';
import { OrganizationService } from './services/organization-service.ts';
import { loadServerKeys, type ServerKeys } from './services/server-keys.ts';
import { bootstrapInitialAdmin } from './services/bootstrap.ts';
import { createProvider } from './oidc/provider.ts';
import { createViews } from './http/views.ts';
import { createApp } from './app.ts';
import type { Connection } from './db/connect.ts';
import { PolicyRepository } from './repositories/policy-repository.ts';
import { AuditRepository } from './repositories/audit-repository.ts';
import { PolicyService } from './services/policy-service.ts';
import { AuditService } from './services/audit-service.ts';
import { sessionAuthenticator } from './http/auth/session-authenticator.ts';
import { DpopProofs } from './http/auth/dpop-proof.ts';
import { foundationFeatures } from './foundation-features.ts';
import { ChangeSignalRepository } from './repositories/change-signal-repository.ts';
import { ChangeSignal, CREDENTIAL_REVOCATIONS } from './services/change-signal.ts';
import { directoryCache } from './services/directory-cache.ts';
import { TokenPayloadCache } from './features/token-cache/token-payload-cache.ts';
import { composeCredentials, type CredentialsParts } from './credentials-composition.ts';
import type { SudoGuard } from './services/sudo-service.ts';
import { composeMfa, type MfaParts } from './mfa-composition.ts';
import { mfaFeatures } from './http/mfa-features.ts';
import { SshPublicKeyRepository } from './repositories/ssh-public-key-repository.ts';
import { SshPrivateKeyRepository } from './repositories/ssh-private-key-repository.ts';
import { SshKeyService } from './services/ssh-key-service.ts';
import { SshPrivateKeyService } from './services/ssh-private-key-service.ts';
import { PrivateKeyReader } from './services/ssh-private-key-reader.ts';
import { sshKeyFeatures } from './ssh-key-features.ts';
import { composeDeviceLogin, type DeviceLoginParts } from './device-login-composition.ts';
import { composeSshCa, type SshCaParts } from './ssh-ca-composition.ts';

const root = (p: string) => fileURLToPath(new URL(`../${p}`, import.meta.url));

export interface Container {
  config: Config;
  logger: Logger;
  connection: Connection;
  keys: ServerKeys;
  accounts: AccountService;
  organizations: OrganizationService;
  policies: PolicyService;
  audit: AuditService;
  /** Claims one-time values exactly once (once-marker-repository.ts). */
  once: OnceMarkerRepository;
  sudo: SudoGuard;
  mfa: MfaParts;
  credentials: CredentialsParts;
  /** Announces credential revocations to every process (see change-signal.ts). */
  revocations: ChangeSignal;
  deviceLogin: DeviceLoginParts;
  sshCa: SshCaParts;
  provider: Provider;
  app: Koa;
  close(): Promise<void>;
}

export interface ComposeOptions {
  logger?: Logger;
  /** The clock every service uses (tests move it). */
  now?: () => number;
  /** Run the periodic sweeps of expired rows (off for one-shot scripts). */
  sweeps?: boolean;
}

function readCommonPasswords(): string[] {
  return readFileSync(root('config/common-passwords.txt'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
}

export async function compose(config: Config, options: ComposeOptions = {}): Promise<Container> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const now = options.now ?? Date.now;
  const closers: (() => Promise<void>)[] = [];
  const close = async () => { for (const c of closers.reverse()) await c().catch((err: unknown) => logger.warn({ err: String(err) }, 'shutdown step failed')); };

  try {
    let uri = config.mongodbUri;
    if (!uri) {
      const embedded = await startEmbeddedDatabase(config.dataDir, logger, { ferretdbBin: config.ferretdbBin });
      closers.push(embedded.stop);
      uri = embedded.uri;
    }
    const connection = await connectDatabase(uri, logger);
    closers.push(() => connection.close());

    // Revocations, and writes to accounts, memberships, policies and factors, reach every
    // process's caches through this one signal (change-signal.ts, directory-cache.ts). One signal
    // for both: a credential verified after a change must not read the account from a directory
    // cache that has not seen the change yet.
    const pollMs = config.credentials.revocationPollMs;
    const revocations = new ChangeSignal({ repo: new ChangeSignalRepository(connection), name: CREDENTIAL_REVOCATIONS, pollMs, staleAfterMs: Math.max(2000, 4 * pollMs), logger, now });
    if (options.sweeps !== false) {
      await revocations.start();
      closers.push(async () => revocations.stop());
    }
    const directory = directoryCache({ signal: revocations, ttlMs: config.directoryCacheMs, now });
    const accountsRepo = new AccountRepository(connection, now, directory);
    const orgRepo = new OrganizationRepository(connection, now, directory);
    const payloads = new OidcPayloadRepository(connection, now);
    const throttles = new ThrottleRepository(connection);
    const secrets = new SecretRepository(connection);
    const once = new OnceMarkerRepository(connection, now);
    const dpop = new DpopProofs({ once, now, baseUrl: config.baseUrl });
    const policyRepo = new PolicyRepository(connection, now, directory);
    const auditRepo = new AuditRepository(connection);
    await accountsRepo.ensureIndexes();
    await throttles.ensureIndexes();
    await orgRepo.ensureIndexes();
    await policyRepo.ensureIndexes();
    await auditRepo.ensureIndexes();
    const { ttl } = await payloads.ensureIndexes();

    const keys = await loadServerKeys({ encryptionKeys: config.encryptionKeys, cookieKeys: config.cookieKeys, secrets, logger });
    const hasher = new PasswordHasher(config.argon2);
    const policy = new PasswordPolicy({ ...config.password, commonPasswords: readCommonPasswords() });
    const throttle = new ThrottleService(throttles, now);
    const accounts = new AccountService({ repo: accountsRepo, hasher, policy, throttle, rules: config.throttle, dummyHash: await hasher.hash(randomUUID()), revocations });
    const organizations = new OrganizationService(orgRepo);
    const policies = new PolicyService(policyRepo);
    const audit = new AuditService({ repo: auditRepo, organizations, logger, now });
    // --- 2-step verification (issue 3) ---
    const mfa = await composeMfa({ connection, config, now, keys, throttle, audit, policies, organizations, once, directory });
    const sudo: SudoGuard = mfa.sudo;

    if (config.initialAdmin) await bootstrapInitialAdmin(config.initialAdmin, { accounts, organizations, logger });

    const sweeps = options.sweeps !== false && config.sweeps;
    if (sweeps) {
      if (!ttl) logger.info({ event: 'db.ttl_unsupported', sweepIntervalSeconds: config.sweepIntervalSeconds }, 'the database has no TTL indexes; expired OIDC artefacts are swept periodically');
      const sweep = setInterval(() => {
        payloads.sweepExpired().catch((err: unknown) => logger.warn({ event: 'db.sweep_failed', error: String(err) }, 'sweep failed'));
        throttles.sweepOlderThan(new Date(now() - 30 * 86400_000)).catch(() => undefined);
        once.sweepExpired().catch((err: unknown) => logger.warn({ event: 'db.sweep_failed', error: String(err) }, 'once-marker sweep failed'));
      }, config.sweepIntervalSeconds * 1000);
      sweep.unref();
      closers.push(async () => clearInterval(sweep));
    }

    const views = createViews(root('views'), { productName: 'Keyward' });
    const tokens = new TokenPayloadCache({ signal: revocations, ttlMs: config.tokenCacheMs, now });
    const provider = createProvider({ config, keys, accounts, payloads, revocations, once, now, views, logger, mfaDecision: mfa.decide, tokens });
    // --- SSH public keys for cluster login, SSH private keys for the platform (issue 6) ---
    const sshPublicRepo = new SshPublicKeyRepository(connection, now);
    const sshPrivateRepo = new SshPrivateKeyRepository(connection, now);
    await sshPublicRepo.ensureIndexes();
    await sshPrivateRepo.ensureIndexes();
    const sshFeatures = sshKeyFeatures({
      publicKeys: new SshKeyService({ repo: sshPublicRepo, accounts, audit, now }),
      privateKeys: new SshPrivateKeyService({ repo: sshPrivateRepo, envelope: keys.envelope, accounts, audit, auditRepo, reader: new PrivateKeyReader(), logger }),
      accounts, organizations, sudo, provider, dpop, now,
      access: { public: config.sshKeys.authorizedKeysPublic, secret: config.sshKeys.authorizedKeysSecret },
    });

    // --- API keys, CLI tokens, token exchange, credential introspection (issue 4) ---
    const credentials = await composeCredentials({
      connection, config, logger, now, keys, provider, accounts, organizations, policies, audit, sudo, throttle, revocations, dpop,
      membersOf: async (organizationId) => (await orgRepo.membersOf(organizationId)).map((m) => m.accountId),
      hasSecondFactor: (accountId) => mfa.mfa.hasMfa(accountId),
    });
    if (sweeps) {
      const credentialSweep = setInterval(() => {
        credentials.sweep().catch((err: unknown) => logger.warn({ event: 'db.sweep_failed', error: String(err) }, 'credential sweep failed'));
      }, config.sweepIntervalSeconds * 1000);
      credentialSweep.unref();
      closers.push(async () => clearInterval(credentialSweep));
    }

    // --- CLI sign-in with the device flow, signed-in devices / connected apps (issue 5) ---
    const browserSession = sessionAuthenticator(provider, accounts, mfa);
    const deviceLogin = await composeDeviceLogin({
      config, connection, now, provider, throttle, once, policies, organizations, accounts, audit, views, logger,
      signedIn: (ctx) => browserSession.authenticate(ctx),
      sweeps,
    });
    closers.push(deviceLogin.stop);

    // --- SSH certificate authority: short-lived user certificates (issue 7) ---
    const sshCa = await composeSshCa({ connection, config, logger, now, keys, provider, organizations, policies, audit, mfa: mfa.mfa, credentials: credentials.service });

    const app = createApp({
      config, logger, provider, views, accounts, cookieKeys: keys.cookieKeys, staticDir: root('views/static'),
      database: { isConnected: () => connection.readyState === 1, ping: () => pingDatabase(connection) },
      beforeProvider: [...credentials.beforeProvider, ...deviceLogin.beforeProvider],
      authenticators: [credentials.authenticator, sessionAuthenticator(provider, accounts, mfa)],
      features: [...foundationFeatures({ accounts, audit, organizations, policies }), ...mfaFeatures({ provider, accounts, organizations, audit, mfa, payloads, config, policies }), ...sshFeatures, credentials.feature, ...deviceLogin.features, sshCa.feature],
    });
    return { config, logger, connection, keys, accounts, organizations, policies, audit, once, sudo, mfa, credentials, revocations, deviceLogin, sshCa, provider, app, close };
  } catch (err) {
    await close();
    throw err;
  }
}
