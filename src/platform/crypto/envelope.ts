/**
 * Envelope encryption for every secret Keyward keeps: a random 256-bit data key per secret
 * encrypts it with AES-256-GCM, bound to associated data chosen by the caller (owner and record
 * ids), and the data key is itself wrapped with AES-256-GCM under a versioned key-encryption key.
 * Re-wrapping under a new KEK version touches only the wrapped key, never the ciphertext.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

export interface KeyEncryptionKey {
  version: string;
  key: Buffer;
}

export interface Sealed {
  v: 1;
  /** KEK version that wrapped the data key. */
  kek: string;
  /** Wrapped data key: iv(12) | ciphertext(32) | tag(16), base64. */
  wk: string;
  iv: string;
  ct: string;
  tag: string;
}

export class DecryptionError extends Error {
  override name = 'DecryptionError';
}

function gcmEncrypt(key: Buffer, plaintext: Buffer, aad: Buffer) {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(aad);
  const ct = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return { iv, ct, tag: cipher.getAuthTag() };
}

function gcmDecrypt(key: Buffer, iv: Buffer, ct: Buffer, tag: Buffer, aad: Buffer): Buffer {
  const decipher = createDecipheriv('aes-256-gcm', key, iv);
  decipher.setAAD(aad);
  decipher.setAuthTag(tag);
  return Buffer.concat([decipher.update(ct), decipher.final()]);
}

export class Envelope {
  readonly #keks: Map<string, Buffer>;
  readonly #active: KeyEncryptionKey;

  /** `keks[0]` is the active version; the others can still unwrap older secrets. */
  constructor(keks: KeyEncryptionKey[]) {
    if (keks.length === 0) throw new Error('Envelope needs at least one key-encryption key');
    this.#active = keks[0];
    this.#keks = new Map(keks.map((k) => [k.version, k.key]));
  }

  get activeVersion(): string {
    return this.#active.version;
  }

  seal(plaintext: Buffer | string, aad: string): Sealed {
    const dataKey = randomBytes(32);
    try {
      const data = gcmEncrypt(dataKey, Buffer.from(plaintext), Buffer.from(aad, 'utf8'));
      return {
        v: 1,
        kek: this.#active.version,
        wk: this.#wrap(dataKey, this.#active),
        iv: data.iv.toString('base64'),
        ct: data.ct.toString('base64'),
        tag: data.tag.toString('base64'),
      };
    } finally {
      dataKey.fill(0);
    }
  }

  open(sealed: Sealed, aad: string): Buffer {
    const dataKey = this.#unwrap(sealed);
    try {
      return gcmDecrypt(
        dataKey,
        Buffer.from(sealed.iv, 'base64'),
        Buffer.from(sealed.ct, 'base64'),
        Buffer.from(sealed.tag, 'base64'),
        Buffer.from(aad, 'utf8'),
      );
    } catch (err) {
      throw new DecryptionError('secret does not decrypt for this record (tampered or moved)', {
        cause: err,
      });
    } finally {
      dataKey.fill(0);
    }
  }

  /** Whether the secret's data key is wrapped under an older KEK version. */
  needsRewrap(sealed: Sealed): boolean {
    return sealed.kek !== this.#active.version;
  }

  /** Re-wraps the data key under the active KEK; the ciphertext is unchanged. */
  rewrap(sealed: Sealed): Sealed {
    const dataKey = this.#unwrap(sealed);
    try {
      return { ...sealed, kek: this.#active.version, wk: this.#wrap(dataKey, this.#active) };
    } finally {
      dataKey.fill(0);
    }
  }

  #wrap(dataKey: Buffer, kek: KeyEncryptionKey): string {
    const w = gcmEncrypt(kek.key, dataKey, Buffer.from(`keyward-kek:${kek.version}`));
    return Buffer.concat([w.iv, w.ct, w.tag]).toString('base64');
  }

  #unwrap(sealed: Sealed): Buffer {
    const kek = this.#keks.get(sealed.kek);
    if (!kek)
      throw new DecryptionError(`key-encryption key version "${sealed.kek}" is not configured`);
    const raw = Buffer.from(sealed.wk, 'base64');
    try {
      return gcmDecrypt(
        kek,
        raw.subarray(0, 12),
        raw.subarray(12, raw.length - 16),
        raw.subarray(raw.length - 16),
        Buffer.from(`keyward-kek:${sealed.kek}`),
      );
    } catch (err) {
      throw new DecryptionError('wrapped data key does not decrypt', { cause: err });
    }
  }
}
