/** Starts a real Keyward (composition root + HTTP server on 127.0.0.1) on its own database. */
import { createServer, type Server } from 'node:http';
import { randomBytes } from 'node:crypto';
import { MongoClient, type Db } from 'mongodb';
import { loadConfig } from '../../src/platform/config/load-config.ts';
import { compose, type Container } from '../../src/compose.ts';
import { createLogger } from '../../src/platform/logging/logger.ts';
import { freePort } from '../../src/platform/db/embedded.ts';

export { freePort };

export const TEST_ENCRYPTION_KEY = randomBytes(32).toString('base64');

export function databaseUri(name: string, base = process.env.MONGODB_URI!): string {
  const url = new URL(base);
  url.pathname = `/${name}`;
  return url.toString();
}

export interface Keyward {
  baseUrl: string;
  issuer: string;
  container: Container;
  server: Server;
  /** Raw access to the same database, for asserting what is stored. */
  db: Db;
  clock: { offsetMs: number };
  stop(): Promise<void>;
}

/**
 * `sharing`: run a second Keyward process-equivalent (own container, caches and signal) on the
 * first one's database, as a replica would; its stop() leaves the database to the first.
 */
export async function startKeyward(
  overrides: Record<string, unknown> = {},
  opts: { mongoBase?: string; sharing?: Keyward } = {},
): Promise<Keyward> {
  // A test that needs the port in its public URL (e.g. a test host name) picks it with freePort() and passes both.
  const port = typeof overrides.port === 'number' ? overrides.port : await freePort();
  const dbName = opts.sharing?.db.databaseName ?? `kw_test_${randomBytes(6).toString('hex')}`;
  const uri = databaseUri(dbName, opts.mongoBase);
  const clock = { offsetMs: 0 };
  const config = loadConfig(
    {},
    {
      env: 'test',
      port,
      host: '127.0.0.1',
      publicUrl: `http://127.0.0.1:${port}`,
      mongodbUri: uri,
      logLevel: 'silent',
      encryptionKeys: TEST_ENCRYPTION_KEY,
      sweepIntervalSeconds: 3600,
      ...overrides,
    },
  );
  const container = await compose(config, {
    logger: createLogger(process.env.KEYWARD_TEST_LOG ?? 'silent'),
    now: () => Date.now() + clock.offsetMs,
  });
  const server = createServer(container.app.callback());
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  const client = await MongoClient.connect(uri, { serverSelectionTimeoutMS: 3000 });
  return {
    baseUrl: config.baseUrl,
    issuer: config.issuer,
    container,
    server,
    db: client.db(dbName),
    clock,
    async stop() {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      if (!opts.sharing)
        await client
          .db(dbName)
          .dropDatabase()
          .catch(() => undefined);
      await client.close();
      await container.close();
    },
  };
}

export const PASSWORD = 'a long enough passphrase 4 tests';

export async function createUser(
  k: Keyward,
  username: string,
  extra: { email?: string; password?: string; org?: string; admin?: boolean } = {},
) {
  const account = await k.container.accounts.register({
    username,
    email: extra.email ?? `${username}@example.com`,
    password: extra.password ?? PASSWORD,
    displayName: `${username} Example`,
  });
  if (extra.org) {
    const org =
      (await k.container.organizations.findByName(extra.org)) ??
      (await k.container.organizations.create(extra.org));
    await k.container.organizations.addMember(org.id, account.id, { admin: extra.admin ?? false });
  }
  return account;
}
