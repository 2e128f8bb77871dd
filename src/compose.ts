/**
 * The composition root: config in, everything built in order (database, repositories, keys,
 * services, provider, app), one `close()` out. Entry points and tests call this; nothing else
 * constructs long-lived objects.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type Koa from 'koa';
import type { Config } from './platform/config/schema.ts';
import { createLogger, type Logger } from './platform/logging/logger.ts';
import { connectDatabase, pingDatabase } from './platform/db/connect.ts';
import { startEmbeddedDatabase } from './platform/db/embedded.ts';
import { AccountRepository } from './platform/directory/account-repository.ts';
import { OrganizationRepository } from './platform/directory/organization-repository.ts';
import { PolicyRepository } from './platform/directory/policy-repository.ts';
import { AuditRepository } from './platform/directory/audit-repository.ts';
import { AccountService } from './platform/directory/account-service.ts';
import { OrganizationService } from './platform/directory/organization-service.ts';
import { PolicyService } from './platform/directory/policy-service.ts';
import { AuditService } from './platform/directory/audit-service.ts';
import { PasswordPolicy } from './platform/directory/password-policy.ts';
import { bootstrapInitialAdmin } from './platform/directory/bootstrap.ts';
import { OidcPayloadRepository } from './platform/oidc/oidc-payload-repository.ts';
import { createProvider } from './platform/oidc/provider.ts';
import { lateProvider } from './platform/oidc/late-provider.ts';
import { ThrottleRepository } from './platform/throttle/throttle-repository.ts';
import { ThrottleService } from './platform/throttle/throttle-service.ts';
import { SecretRepository } from './platform/crypto/secret-repository.ts';
import { PasswordHasher } from './platform/crypto/password-hasher.ts';
import { loadServerKeys } from './platform/crypto/server-keys.ts';
import { OnceMarkerRepository } from './platform/store/once-marker-repository.ts';
import { ChangeSignalRepository } from './platform/store/change-signal-repository.ts';
import { ChangeSignal, CREDENTIAL_REVOCATIONS } from './platform/store/change-signal.ts';
import { directoryCache } from './platform/store/directory-cache.ts';
import { DpopProofs } from './platform/auth/dpop-proof.ts';
import type { SudoGuard } from './platform/auth/sudo-service.ts';
import { createViews } from './platform/http/views.ts';
import type { Feature } from './platform/feature.ts';
import type { Platform } from './platform/platform.ts';
import { TokenPayloadCache } from './platform/oidc/token-payload-cache.ts';
import { createApp } from './app.ts';
import * as account from './features/account/index.ts';
import * as mfa from './features/mfa/index.ts';
import * as apiKeys from './features/api-keys/index.ts';
import * as signIn from './features/sign-in/index.ts';
import * as policies from './features/policies/index.ts';
import * as sshKeys from './features/ssh-keys/index.ts';
import * as sshPrivateKeys from './features/ssh-private-keys/index.ts';
import * as deviceLogin from './features/device-login/index.ts';
import * as sshCa from './features/ssh-ca/index.ts';
import * as passkeys from './features/passkeys/index.ts';
import * as signInMethods from './features/sign-in-methods/index.ts';

const root = (p: string) => fileURLToPath(new URL(`../${p}`, import.meta.url));

/** Everything composed: the kernel, what the features provide, the app, and one `close()`. */
export interface Container extends Platform {
  sudo: SudoGuard;
  mfa: mfa.MfaParts;
  apiKeys: apiKeys.ApiKeysProvides;
  deviceLogin: deviceLogin.DeviceLoginProvides;
  sshCa: Awaited<ReturnType<typeof sshCa.compose>>['provides'];
  signInMethods: Awaited<ReturnType<typeof signInMethods.compose>>['provides'];
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
  return readFileSync(root('config/common-passwords.txt'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
}

export async function compose(config: Config, options: ComposeOptions = {}): Promise<Container> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const now = options.now ?? Date.now;
  const closers: (() => Promise<void>)[] = [];
  const close = async () => {
    for (const c of closers.reverse())
      await c().catch((err: unknown) => logger.warn({ err: String(err) }, 'shutdown step failed'));
  };

  try {
    let uri = config.mongodbUri;
    if (!uri) {
      const embedded = await startEmbeddedDatabase(config.dataDir, logger, {
        ferretdbBin: config.ferretdbBin,
      });
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
    const revocations = new ChangeSignal({
      repo: new ChangeSignalRepository(connection),
      name: CREDENTIAL_REVOCATIONS,
      pollMs,
      staleAfterMs: Math.max(2000, 4 * pollMs),
      logger,
      now,
    });
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

    const keys = await loadServerKeys({
      encryptionKeys: config.encryptionKeys,
      cookieKeys: config.cookieKeys,
      secrets,
      logger,
    });
    const hasher = new PasswordHasher(config.argon2);
    const policy = new PasswordPolicy({
      ...config.password,
      commonPasswords: readCommonPasswords(),
    });
    const throttle = new ThrottleService(throttles, now);
    const accounts = new AccountService({
      repo: accountsRepo,
      hasher,
      policy,
      throttle,
      rules: config.throttle,
      dummyHash: await hasher.hash(randomUUID()),
      revocations,
    });
    const organizations = new OrganizationService(orgRepo);
    const policyService = new PolicyService(policyRepo);
    const audit = new AuditService({ repo: auditRepo, organizations, logger, now });
    const views = createViews(root('views'), { productName: 'Keyward' });
    const late = lateProvider();
    const platform: Platform = {
      config,
      logger,
      now,
      connection,
      keys,
      accounts,
      organizations,
      policies: policyService,
      audit,
      auditRepo,
      once,
      throttle,
      revocations,
      directory,
      dpop,
      views,
      payloads,
      provider: late.provider,
      sweeps: options.sweeps !== false,
    };

    // The features, in order: each may use what the earlier ones provide (README "Architecture").
    const mfaParts = await mfa.compose(platform);
    const apiKeyParts = await apiKeys.compose(platform, { mfa: mfaParts.provides });
    const methodParts = await signInMethods.compose(platform);
    const signInParts = await signIn.compose(platform, {
      mfa: mfaParts.provides,
      hooks: methodParts.provides.hooks,
    });
    const deviceParts = await deviceLogin.compose(platform, {
      session: signInParts.provides.session,
    });
    const sshCaParts = await sshCa.compose(platform, {
      mfa: mfaParts.provides,
      apiKeys: apiKeyParts.provides,
    });
    const features: Feature[] = [
      (await account.compose(platform)).feature,
      mfaParts.feature,
      apiKeyParts.feature,
      signInParts.feature,
      (await policies.compose(platform, { mfa: mfaParts.provides })).feature,
      (await sshKeys.compose(platform, { mfa: mfaParts.provides })).feature,
      (await sshPrivateKeys.compose(platform, { mfa: mfaParts.provides })).feature,
      deviceParts.feature,
      sshCaParts.feature,
      (await passkeys.compose(platform, { mfa: mfaParts.provides })).feature,
      methodParts.feature,
    ];

    if (config.initialAdmin)
      await bootstrapInitialAdmin(config.initialAdmin, { accounts, organizations, logger });

    // Tokens once read are kept in memory, ended by the same change signal (token-payload-cache.ts).
    const tokens = new TokenPayloadCache({ signal: revocations, ttlMs: config.tokenCacheMs, now });
    const provider = createProvider({
      config,
      keys,
      accounts,
      payloads,
      revocations,
      once,
      now,
      views,
      logger,
      tokens,
      options: features.flatMap((f) => (f.providerOptions ? [f.providerOptions] : [])),
    });
    late.set(provider);
    for (const f of features) f.withProvider?.(provider);
    for (const f of features) if (f.stop) closers.push(f.stop);

    if (options.sweeps !== false && config.sweeps) {
      if (!ttl)
        logger.info(
          { event: 'db.ttl_unsupported', sweepIntervalSeconds: config.sweepIntervalSeconds },
          'the database has no TTL indexes; expired OIDC artefacts are swept periodically',
        );
      const failed = (what: string) => (err: unknown) =>
        logger.warn({ event: 'db.sweep_failed', error: String(err) }, `${what} sweep failed`);
      const sweep = setInterval(() => {
        payloads.sweepExpired().catch(failed('OIDC'));
        throttles.sweepOlderThan(new Date(now() - 30 * 86400_000)).catch(() => undefined);
        once.sweepExpired().catch(failed('once-marker'));
        for (const f of features) f.sweep?.().catch(failed(f.name));
      }, config.sweepIntervalSeconds * 1000);
      sweep.unref();
      closers.push(async () => clearInterval(sweep));
    }

    const app = createApp({
      config,
      logger,
      provider,
      views,
      sudo: mfaParts.provides.sudo,
      once,
      cookieKeys: keys.cookieKeys,
      staticDir: root('views/static'),
      database: {
        isConnected: () => connection.readyState === 1,
        ping: () => pingDatabase(connection),
      },
      features,
    });
    return {
      ...platform,
      provider,
      sudo: mfaParts.provides.sudo,
      mfa: mfaParts.provides,
      apiKeys: apiKeyParts.provides,
      deviceLogin: deviceParts.provides,
      sshCa: sshCaParts.provides,
      signInMethods: methodParts.provides,
      app,
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
