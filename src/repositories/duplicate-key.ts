import { AppError } from '../errors/app-error.ts';

/** Runs a write and turns a unique-index violation into a 409 with a message the caller chose. */
export async function conflictOnDuplicate<T>(write: () => Promise<T>, message: string): Promise<T> {
  try {
    return await write();
  } catch (err) {
    if ((err as { code?: number }).code === 11000) throw new AppError('conflict', message, { cause: err });
    throw err;
  }
}
