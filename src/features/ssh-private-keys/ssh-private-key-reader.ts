/**
 * Turns pasted private-key text into a normalised key. Unencrypted keys are decoded in place (fast);
 * passphrase-protected ones run their KDF (bcrypt-pbkdf in JavaScript: ~0.4 s at OpenSSH's default
 * 16 rounds; PBKDF2 for PKCS#8) in a worker thread with a time limit, so the server keeps
 * answering, and only a few run at once.
 */
import { Worker } from 'node:worker_threads';
import { AppError } from '../../platform/errors/app-error.ts';
import {
  decodePrivateKey,
  inspectPrivateKey,
  invalidPrivateKey,
  type DecodedPrivateKey,
} from './ssh-private-key-decoder.ts';

export interface PrivateKeyReaderOptions {
  timeoutMs?: number;
  maxConcurrent?: number;
}

export class PrivateKeyReader {
  readonly #timeoutMs: number;
  readonly #maxConcurrent: number;
  #running = 0;

  constructor(opts: PrivateKeyReaderOptions = {}) {
    this.#timeoutMs = opts.timeoutMs ?? 15_000;
    this.#maxConcurrent = opts.maxConcurrent ?? 2;
  }

  async read(text: string, passphrase?: string): Promise<DecodedPrivateKey> {
    const { encrypted } = inspectPrivateKey(text);
    if (!encrypted) return decodePrivateKey(text);
    if (!passphrase) return decodePrivateKey(text); // throws "passphrase required"
    if (this.#running >= this.#maxConcurrent) {
      throw new AppError(
        'rate_limited',
        'Keyward is busy decrypting other keys; try again in a few seconds.',
        { headers: { 'Retry-After': '5' } },
      );
    }
    this.#running++;
    try {
      return await this.#inWorker(text, passphrase);
    } finally {
      this.#running--;
    }
  }

  #inWorker(text: string, passphrase: string): Promise<DecodedPrivateKey> {
    return new Promise((resolve, reject) => {
      const worker = new Worker(new URL('./ssh-private-key-worker.ts', import.meta.url), {
        workerData: { text, passphrase },
      });
      const timer = setTimeout(() => {
        void worker.terminate();
        reject(
          invalidPrivateKey(
            'Decrypting this key took too long (its passphrase key-derivation setting is very high). Re-encrypt it with default settings (`ssh-keygen -p -f <keyfile>`) and try again.',
            'kdf_too_slow',
          ),
        );
      }, this.#timeoutMs);
      worker.once(
        'message',
        (m: { ok?: DecodedPrivateKey; error?: { message: string; field: string } }) => {
          clearTimeout(timer);
          void worker.terminate();
          if (m.ok) resolve(m.ok);
          else reject(invalidPrivateKey(m.error!.message, m.error!.field));
        },
      );
      worker.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
  }
}
