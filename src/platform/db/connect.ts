import mongoose, { type Connection } from 'mongoose';
import type { Logger } from '../logging/logger.ts';

export type { Connection };

/** Opens a mongoose connection that fails fast while the server is away and recovers by itself. */
export async function connectDatabase(uri: string, logger: Logger): Promise<Connection> {
  const conn = mongoose.createConnection(uri, {
    autoIndex: false,
    autoCreate: false,
    bufferCommands: false,
    // A stopped server refuses connections and is noticed within a heartbeat; a slow one (a busy
    // machine) gets time to answer before it is declared unreachable.
    serverSelectionTimeoutMS: 5000,
    heartbeatFrequencyMS: 1000,
    connectTimeoutMS: 10000,
    maxPoolSize: 20,
  });
  let closing = false;
  let connected = false;
  const close = conn.close.bind(conn);
  conn.close = ((force?: boolean) => {
    closing = true;
    return close(force);
  }) as typeof conn.close;
  conn.on(
    'disconnected',
    () =>
      connected &&
      !closing &&
      logger.warn({ event: 'db.disconnected' }, 'database connection lost'),
  );
  conn.on('reconnected', () =>
    logger.info({ event: 'db.reconnected' }, 'database connection restored'),
  );
  await conn.asPromise();
  connected = true;
  return conn;
}

/** True when the server answers a ping within `timeoutMs`. */
export async function pingDatabase(conn: Connection, timeoutMs = 1500): Promise<boolean> {
  if (!conn.db) return false;
  let timer: NodeJS.Timeout | undefined;
  try {
    const ping = conn.db.admin().command({ ping: 1 }, { timeoutMS: timeoutMs });
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('timeout')), timeoutMs);
    });
    await Promise.race([ping, timeout]);
    return true;
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

/** Whether an error means "the database is unreachable" (as opposed to a bad query). */
export function isDatabaseUnavailable(err: unknown): boolean {
  const name = (err as { name?: string })?.name ?? '';
  return /MongoServerSelectionError|MongoNetworkError|MongoNetworkTimeoutError|MongoNotConnectedError|MongooseServerSelectionError|MongoTopologyClosedError|MongoPoolClearedError/.test(
    name,
  );
}

/** Creates an index; answers false (instead of throwing) when the server does not implement an option. */
export async function createIndexBestEffort(
  conn: Connection,
  collection: string,
  keys: Record<string, 1 | -1>,
  options: Record<string, unknown>,
): Promise<boolean> {
  try {
    await conn.collection(collection).createIndex(keys, options);
    return true;
  } catch (err) {
    const e = err as { code?: number; codeName?: string };
    if (
      e.code === 238 ||
      e.codeName === 'NotImplemented' ||
      e.code === 115 ||
      e.codeName === 'CommandNotSupported'
    )
      return false;
    throw err;
  }
}
