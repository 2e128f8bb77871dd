/** Entry point: configuration, composition, HTTP server, graceful shutdown. */
import cluster from 'node:cluster';
import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import { ConfigError, loadConfigFromProcess } from './platform/config/load-config.ts';
import { EmbeddedDatabaseUnavailable } from './platform/db/embedded.ts';
import { isDatabaseUnavailable } from './platform/db/connect.ts';
import { compose } from './compose.ts';
import {
  createDevelopmentAdmin,
  initialAdminPasswordFile,
} from './platform/directory/bootstrap.ts';
import { createLogger } from './platform/logging/logger.ts';
import type { Config } from './platform/config/schema.ts';
import type { Container } from './compose.ts';
import { runPrimary } from './workers.ts';

function fail(message: string): never {
  process.stderr.write(`\nkeyward: ${message}\n\n`);
  process.exit(1);
}

let config: Config;
try {
  config = loadConfigFromProcess();
} catch (err) {
  if (err instanceof ConfigError) fail(err.message);
  throw err;
}

const logger = createLogger(config.logLevel);
// KEYWARD_WORKERS > 1: this process only runs the workers, each of which goes on below.
if (config.workers > 1 && cluster.isPrimary) process.exit(await runPrimary(config, logger));
// Until the server listens, a stop signal ends the process at once (the embedded database's exit hook
// stops a FerretDB it started); from then on, shutdown() below finishes in-flight requests first.
const stopEarly = (signal: NodeJS.Signals) => process.exit(signal === 'SIGINT' ? 130 : 143);
process.once('SIGTERM', stopEarly);
process.once('SIGINT', stopEarly);
let container: Container;
try {
  container = await compose(config, { logger });
} catch (err) {
  if (err instanceof EmbeddedDatabaseUnavailable) {
    fail(
      `MONGODB_URI is not set, and no embedded database could be started:\n${err.message}\n` +
        'Set MONGODB_URI to a MongoDB (6 or newer) or FerretDB (1.24 or newer) server, for example:\n' +
        '  bash scripts/ferretdb.sh start 27017 ./data/ferretdb     # FerretDB on SQLite (built with Go on first use)\n' +
        '  MONGODB_URI=mongodb://127.0.0.1:27017/keyward npm start',
    );
  }
  if (isDatabaseUnavailable(err))
    fail(
      `cannot reach the database given by MONGODB_URI (${(err as Error).message.split('\n')[0]})`,
    );
  if (err instanceof ConfigError) fail(err.message);
  logger.fatal(
    { event: 'startup.failed', error: String((err as Error)?.stack ?? err) },
    'startup failed',
  );
  process.exit(1);
}

const { app, close } = container;
const developmentAdmin = config.env === 'development' && !config.initialAdmin;
const createdPasswordFile = developmentAdmin
  ? await createDevelopmentAdmin(config.dataDir, {
      accounts: container.accounts,
      organizations: container.organizations,
      logger,
    })
  : undefined;
// On later starts the file written at the first one is still worth pointing to, as long as it exists.
const keptPasswordFile =
  developmentAdmin && !createdPasswordFile && existsSync(initialAdminPasswordFile(config.dataDir))
    ? initialAdminPasswordFile(config.dataDir)
    : undefined;
const server = createServer(app.callback());
server.keepAliveTimeout = 5000;
server.listen(config.port, config.host, () => {
  logger.info(
    {
      event: 'startup.listening',
      url: config.baseUrl,
      issuer: config.issuer,
      host: config.host,
      port: config.port,
    },
    'Keyward is listening',
  );
  process.stdout.write(
    `\n  Keyward is running at ${config.baseUrl}  (OIDC issuer ${config.issuer})\n` +
      `  Open ${config.baseUrl}/ in a browser and choose "Sign in".\n` +
      (createdPasswordFile
        ? `  First start: sign in as "admin" with the password in ${createdPasswordFile}\n\n`
        : keptPasswordFile
          ? `  Sign in as "admin" with the password in ${keptPasswordFile} (written at the first start;\n` +
            '  delete that file once you have changed the password).\n\n'
          : '  Sign in with a user created by `npm run admin -- create-user …` (see README).\n\n'),
  );
});

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  logger.info(
    { event: 'shutdown.start', signal },
    'stopping: no new connections, finishing in-flight requests',
  );
  const force = setTimeout(() => {
    server.closeAllConnections();
  }, config.shutdownGraceMs);
  force.unref();
  const reap = setInterval(() => server.closeIdleConnections(), 100);
  reap.unref();
  server.close(async () => {
    clearTimeout(force);
    clearInterval(reap);
    await close();
    logger.info({ event: 'shutdown.done' }, 'stopped');
    process.exit(0);
  });
  server.closeIdleConnections();
}
process.off('SIGTERM', stopEarly);
process.off('SIGINT', stopEarly);
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
