/**
 * The SSH wire encoding (RFC 4251 §5): uint32, length-prefixed strings and mpints. Used to read key
 * blobs sshpk does not know (FIDO `sk-*` keys) and to build signatures in agent and SSHSIG formats.
 */
import { createHash } from 'node:crypto';

export class WireError extends Error {
  override name = 'WireError';
}

/** Reads a buffer field by field; every read is bounds-checked. */
export class WireReader {
  readonly #buf: Buffer;
  #pos = 0;
  constructor(buf: Buffer) {
    this.#buf = buf;
  }

  get done(): boolean {
    return this.#pos === this.#buf.length;
  }

  uint32(): number {
    if (this.#pos + 4 > this.#buf.length) throw new WireError('truncated');
    const v = this.#buf.readUInt32BE(this.#pos);
    this.#pos += 4;
    return v;
  }

  bytes(max = 1 << 20): Buffer {
    const len = this.uint32();
    if (len > max || this.#pos + len > this.#buf.length)
      throw new WireError('truncated or oversized field');
    const out = this.#buf.subarray(this.#pos, this.#pos + len);
    this.#pos += len;
    return out;
  }

  string(max = 1024): string {
    const b = this.bytes(max);
    const s = b.toString('utf8');
    if (!Buffer.from(s, 'utf8').equals(b)) throw new WireError('not UTF-8');
    return s;
  }
}

const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};

/** An SSH `string`: uint32 length, then the bytes. */
export function wireString(value: Buffer | string): Buffer {
  const b = Buffer.from(value);
  return Buffer.concat([u32(b.length), b]);
}

/** An SSH `mpint` from an unsigned big-endian integer. */
export function wireMpint(unsigned: Buffer): Buffer {
  let i = 0;
  while (i < unsigned.length && unsigned[i] === 0) i++;
  let v = unsigned.subarray(i);
  if (v.length && v[0] & 0x80) v = Buffer.concat([Buffer.from([0]), v]);
  return wireString(v);
}

export const wire = (...parts: Buffer[]): Buffer => Buffer.concat(parts);
export { u32 as wireUint32 };

/** The fingerprint `ssh-keygen -l` prints: `SHA256:` + unpadded base64 of SHA-256 over the key blob. */
export function sshFingerprint(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}
