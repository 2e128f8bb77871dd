/** argon2id password hashing (Node ≥ 24.7 `crypto.argon2`), stored in PHC string format. */
import { argon2, randomBytes, timingSafeEqual } from 'node:crypto';

export interface Argon2Params {
  memoryKiB: number;
  passes: number;
  parallelism: number;
}

const b64 = (b: Buffer) => b.toString('base64').replace(/=+$/, '');

function derive(
  password: string,
  salt: Buffer,
  p: Argon2Params,
  tagLength: number,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    argon2(
      'argon2id',
      {
        message: Buffer.from(password.normalize('NFKC'), 'utf8'),
        nonce: salt,
        parallelism: p.parallelism,
        tagLength,
        memory: p.memoryKiB,
        passes: p.passes,
      },
      (err, key) => (err ? reject(err) : resolve(key)),
    );
  });
}

const PHC = /^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/;

export class PasswordHasher {
  readonly #params: Argon2Params;
  constructor(params: Argon2Params) {
    this.#params = params;
  }

  async hash(password: string): Promise<string> {
    const salt = randomBytes(16);
    const tag = await derive(password, salt, this.#params, 32);
    const p = this.#params;
    return `$argon2id$v=19$m=${p.memoryKiB},t=${p.passes},p=${p.parallelism}$${b64(salt)}$${b64(tag)}`;
  }

  /** Constant-time check against a stored PHC string (with its own parameters). */
  async verify(password: string, phc: string): Promise<boolean> {
    const m = PHC.exec(phc);
    if (!m) return false;
    const expected = Buffer.from(m[5], 'base64');
    const actual = await derive(
      password,
      Buffer.from(m[4], 'base64'),
      { memoryKiB: Number(m[1]), passes: Number(m[2]), parallelism: Number(m[3]) },
      expected.length,
    );
    return actual.length === expected.length && timingSafeEqual(actual, expected);
  }

  /** Whether a stored hash uses weaker parameters than configured (re-hash at next sign-in). */
  needsRehash(phc: string): boolean {
    const m = PHC.exec(phc);
    if (!m) return true;
    const p = this.#params;
    return Number(m[1]) < p.memoryKiB || Number(m[2]) < p.passes;
  }
}
