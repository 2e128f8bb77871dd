/** The database commands a Keyward sends while `action` runs (`collection.method`), except the change signals' polls. */
import type { Keyward } from './keyward.ts';

export async function dbCommands(k: Keyward, action: () => Promise<unknown>): Promise<string[]> {
  const seen: string[] = [];
  k.container.connection.set('debug', (collection: string, method: string) => {
    seen.push(`${collection}.${method}`);
  });
  try {
    await action();
  } finally {
    k.container.connection.set('debug', false);
  }
  return seen.filter((op) => !op.startsWith('change_signals.'));
}
