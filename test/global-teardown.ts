export default async function globalTeardown(): Promise<void> {
  const server = (globalThis as Record<string, unknown>).__KEYWARD_MONGOD__ as
    { stop(): Promise<unknown> } | undefined;
  await server?.stop();
}
