/**
 * Fires N identical operations at once: each is started only after all N are ready to go, so
 * the server sees them concurrently rather than in the order the test loop happened to run.
 * `wins` counts the successes, for "exactly one" assertions.
 */
export async function atOnce<T>(n: number, op: (i: number) => Promise<T>): Promise<T[]> {
  let release!: () => void;
  const gate = new Promise<void>((r) => {
    release = r;
  });
  const runs = Array.from({ length: n }, async (_, i) => {
    await gate;
    return op(i);
  });
  release();
  return Promise.all(runs);
}

export const wins = <T>(results: T[], won: (r: T) => boolean): number => results.filter(won).length;
