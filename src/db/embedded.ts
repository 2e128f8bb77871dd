import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Logger } from '../logging/logger.ts';

export class EmbeddedDatabaseUnavailable extends Error {
  override name = 'EmbeddedDatabaseUnavailable';
}

/**
 * Runs a real mongod through mongodb-memory-server, with its files under `<dataDir>/mongodb` so
 * data survives restarts. Throws EmbeddedDatabaseUnavailable when no mongod binary can be had
 * (for example when the download is impossible offline).
 */
export async function startEmbeddedMongo(dataDir: string, logger: Logger): Promise<{ uri: string; stop: () => Promise<void> }> {
  const dbPath = resolve(dataDir, 'mongodb');
  mkdirSync(dbPath, { recursive: true });
  let MongoMemoryServer: typeof import('mongodb-memory-server-core').MongoMemoryServer;
  try {
    ({ MongoMemoryServer } = await import('mongodb-memory-server-core'));
  } catch (err) {
    throw new EmbeddedDatabaseUnavailable(`mongodb-memory-server-core is not installed (${(err as Error).message})`);
  }
  try {
    const server = await MongoMemoryServer.create({
      instance: { dbPath, storageEngine: 'wiredTiger', ip: '127.0.0.1' },
    });
    logger.info({ event: 'db.embedded', dbPath }, `embedded MongoDB (mongodb-memory-server) running, data in ${dbPath}`);
    return {
      uri: server.getUri('keyward'),
      stop: async () => { await server.stop({ doCleanup: false }); },
    };
  } catch (err) {
    throw new EmbeddedDatabaseUnavailable((err as Error).message.split('\n')[0]);
  }
}
