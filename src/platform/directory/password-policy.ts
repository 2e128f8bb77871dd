/** NIST 800-63B rev. 4 password rules: length, no composition rules, no common passwords. */
import { AppError } from '../errors/app-error.ts';

export class PasswordPolicy {
  readonly #min: number;
  readonly #max: number;
  readonly #common: Set<string>;

  constructor(opts: { minLength: number; maxLength: number; commonPasswords: Iterable<string> }) {
    this.#min = opts.minLength;
    this.#max = opts.maxLength;
    this.#common = new Set([...opts.commonPasswords].map((p) => p.toLowerCase()));
  }

  /** Throws a 400 saying what is wrong, or returns when the password is acceptable. */
  check(password: string, context: { username?: string; email?: string } = {}): void {
    const length = [...password.normalize('NFKC')].length;
    if (length < this.#min)
      throw new AppError(
        'validation_failed',
        `Password must be at least ${this.#min} characters long.`,
      );
    if (length > this.#max)
      throw new AppError(
        'validation_failed',
        `Password must be at most ${this.#max} characters long.`,
      );
    const lower = password.toLowerCase();
    if (this.#common.has(lower))
      throw new AppError('validation_failed', 'This password is too common; choose another.');
    for (const word of [context.username, context.email?.split('@')[0]]) {
      if (word && word.length >= 3 && lower.includes(word.toLowerCase())) {
        throw new AppError(
          'validation_failed',
          'Password must not contain your username or email.',
        );
      }
    }
  }
}
