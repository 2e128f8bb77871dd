/**
 * The read cache that repositories of read-mostly data (accounts by id, memberships,
 * organizations, policies, 2-step factors) read through, and tell after each of their writes.
 * Implemented by directory-cache.ts over the cross-process change signal; without one
 * (scripts, tests that build a repository by hand) every read goes to the database.
 */
export interface ReadThrough {
  read<V>(key: string, load: () => Promise<V>): Promise<V>;
  /** Called after a write: cached reads end here at once and in other processes within a poll. */
  changed(): Promise<void>;
}

export const NO_READ_CACHE: ReadThrough = {
  read: (_key, load) => load(),
  changed: async () => undefined,
};
