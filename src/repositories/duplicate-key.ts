import { AppError } from '../errors/app-error.ts';

/** Whether a write failed on a unique index (MongoDB and FerretDB both answer code 11000). */
export const isDuplicateKey = (err: unknown): boolean => (err as { code?: number } | null)?.code === 11000;

/** Runs a write and turns a unique-index violation into a 409 with a message the caller chose. */
export async function conflictOnDuplicate<T>(write: () => Promise<T>, message: string): Promise<T> {
  try {
    return await write();
  } catch (err) {
    if (isDuplicateKey(err)) throw new AppError('conflict', message, { cause: err });
    throw err;
  }
}
