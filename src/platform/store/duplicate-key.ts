import { AppError } from '../errors/app-error.ts';

/** Whether a write failed on a unique index (MongoDB and FerretDB both answer code 11000). */
export const isDuplicateKey = (err: unknown): boolean =>
  (err as { code?: number } | null)?.code === 11000;

/**
 * Runs an upsert by `_id`, again when it loses a race: two first writers may both find no row and
 * both insert (FerretDB's upsert is not atomic), and the loser gets a duplicate-key error. The
 * row exists then, so the same write updates it.
 */
export async function upsertRetryingRace<T>(write: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await write();
    } catch (err) {
      if (!isDuplicateKey(err) || attempt >= 3) throw err;
    }
  }
}

/** Runs a write and turns a unique-index violation into a 409 with a message the caller chose. */
export async function conflictOnDuplicate<T>(write: () => Promise<T>, message: string): Promise<T> {
  try {
    return await write();
  } catch (err) {
    if (isDuplicateKey(err)) throw new AppError('conflict', message, { cause: err });
    throw err;
  }
}
