/** Worker-thread entry: decrypts one passphrase-protected private key off the event loop. */
import { parentPort, workerData } from 'node:worker_threads';
import { decodePrivateKey } from './ssh-private-key-decoder.ts';
import { AppError } from '../../platform/errors/app-error.ts';

const { text, passphrase } = workerData as { text: string; passphrase?: string };
try {
  parentPort!.postMessage({ ok: decodePrivateKey(text, passphrase) });
} catch (err) {
  const e = err instanceof AppError ? err : undefined;
  parentPort!.postMessage({
    error: {
      message: e?.message ?? 'The private key cannot be read.',
      field: e?.fieldErrors[0]?.code ?? 'malformed',
    },
  });
}
