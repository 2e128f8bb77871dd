/** Tests use MONGODB_URI (set by `npm test`, scripts/test.ts); run directly without it, a mongod from mongodb-memory-server. */
export default async function globalSetup(): Promise<void> {
  if (process.env.MONGODB_URI) return;
  const { MongoMemoryServer } = await import('mongodb-memory-server-core');
  try {
    const server = await MongoMemoryServer.create({ instance: { ip: '127.0.0.1' } });
    (globalThis as Record<string, unknown>).__KEYWARD_MONGOD__ = server;
    process.env.MONGODB_URI = server.getUri('keyward_test');
  } catch (err) {
    throw new Error(
      `No MONGODB_URI and mongodb-memory-server could not start a mongod (${(err as Error).message.split('\n')[0]}). ` +
        'Set MONGODB_URI to a MongoDB or FerretDB server, or run `npm test`, which starts one (FerretDB when no mongod can be had).',
      { cause: err },
    );
  }
}
