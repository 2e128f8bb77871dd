/** Envelope encryption: round trip, tamper detection, key rotation and the wrong key. */
import { randomBytes } from 'node:crypto';
import { DecryptionError, Envelope, type KeyEncryptionKey, type Sealed } from './envelope.ts';

const v1: KeyEncryptionKey = { version: 'v1', key: randomBytes(32) };
const v2: KeyEncryptionKey = { version: 'v2', key: randomBytes(32) };
const AAD = 'account:a1/factor:f1';

/** `base64` with its first byte flipped. */
function flipped(base64: string): string {
  const bytes = Buffer.from(base64, 'base64');
  bytes[0] ^= 0x01;
  return bytes.toString('base64');
}

function openError(envelope: Envelope, sealed: Sealed, aad = AAD): DecryptionError {
  try {
    envelope.open(sealed, aad);
  } catch (err) {
    expect(err).toBeInstanceOf(DecryptionError);
    return err as DecryptionError;
  }
  throw new Error('expected the sealed value not to open');
}

describe('seal / open', () => {
  const envelope = new Envelope([v1]);

  it('opens what it sealed, strings and bytes alike', () => {
    expect(envelope.open(envelope.seal('a secret', AAD), AAD).toString('utf8')).toBe('a secret');
    const bytes = randomBytes(100);
    expect(envelope.open(envelope.seal(bytes, AAD), AAD).equals(bytes)).toBe(true);
    expect(envelope.open(envelope.seal('', AAD), AAD).length).toBe(0);
  });

  it('keeps the plaintext out of the sealed value and never seals twice alike', () => {
    const a = envelope.seal('a secret', AAD);
    const b = envelope.seal('a secret', AAD);
    expect(JSON.stringify(a)).not.toContain('a secret');
    expect(Buffer.from(a.ct, 'base64').toString('utf8')).not.toBe('a secret');
    expect(a.ct).not.toBe(b.ct);
    expect(a.wk).not.toBe(b.wk);
    expect(a).toMatchObject({ v: 1, kek: 'v1' });
  });

  it.each(['wk', 'iv', 'ct', 'tag'] as const)('refuses a value whose %s was changed', (field) => {
    const sealed = envelope.seal('a secret', AAD);
    openError(envelope, { ...sealed, [field]: flipped(sealed[field]) });
  });

  it('refuses to open for another record (associated data)', () => {
    const err = openError(envelope, envelope.seal('a secret', AAD), 'account:a2/factor:f1');
    expect(err.message).toBe('secret does not decrypt for this record (tampered or moved)');
  });

  it('refuses a data key relabelled with another key version', () => {
    const both = new Envelope([v1, { version: 'v0', key: v1.key }]);
    openError(both, { ...both.seal('a secret', AAD), kek: 'v0' });
  });
});

describe('key rotation', () => {
  const old = new Envelope([v1]);
  const rotated = new Envelope([v2, v1]);

  it('seals under the first key and still opens values sealed under an older one', () => {
    const before = old.seal('a secret', AAD);
    expect(rotated.activeVersion).toBe('v2');
    expect(rotated.seal('x', AAD).kek).toBe('v2');
    expect(rotated.open(before, AAD).toString()).toBe('a secret');
  });

  it('re-wraps an old value under the new key without touching the ciphertext', () => {
    const before = old.seal('a secret', AAD);
    expect(rotated.needsRewrap(before)).toBe(true);
    const after = rotated.rewrap(before);
    expect(after).toMatchObject({ kek: 'v2', iv: before.iv, ct: before.ct, tag: before.tag });
    expect(after.wk).not.toBe(before.wk);
    expect(rotated.needsRewrap(after)).toBe(false);
    expect(new Envelope([v2]).open(after, AAD).toString()).toBe('a secret');
  });

  it('refuses a value whose key version is not configured', () => {
    const err = openError(new Envelope([v2]), old.seal('a secret', AAD));
    expect(err.message).toBe('key-encryption key version "v1" is not configured');
  });

  it('refuses a value under a different key of the same version', () => {
    const impostor = new Envelope([{ version: 'v1', key: randomBytes(32) }]);
    expect(openError(impostor, old.seal('a secret', AAD)).message).toBe(
      'wrapped data key does not decrypt',
    );
  });

  it('needs at least one key', () => {
    expect(() => new Envelope([])).toThrow('Envelope needs at least one key-encryption key');
  });
});
