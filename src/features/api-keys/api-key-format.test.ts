/** The credential format, offline: what generateCredential makes, parseCredential accepts and refuses. */
import {
  API_KEY_PATTERN,
  USER_TOKEN_PATTERN,
  decodeHost,
  digestOf,
  encodeHost,
  generateCredential,
  hintOf,
  hostForBaseUrl,
  kindOf,
  parseCredential,
} from './api-key-format.ts';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** `value` with the character at `index` replaced by another base62 character. */
function changeAt(value: string, index: number): string {
  const other = BASE62[(BASE62.indexOf(value[index]) + 1) % 62];
  return value.slice(0, index) + other + value.slice(index + 1);
}

function reason(raw: string): string {
  const r = parseCredential(raw);
  if (r.ok) throw new Error(`expected ${raw} to be refused`);
  return r.reason;
}

describe('generateCredential / parseCredential', () => {
  it.each([
    ['apikey', 'pwt_', API_KEY_PATTERN],
    ['token', 'pwut_', USER_TOKEN_PATTERN],
  ] as const)('a new %s parses back to its kind, host and digest', (kind, prefix, pattern) => {
    const value = generateCredential(kind, 'https://id.example.com:8443');
    expect(value.startsWith(prefix)).toBe(true);
    expect(value).toMatch(pattern);
    expect(parseCredential(value)).toEqual({
      ok: true,
      credential: { kind, host: 'https://id.example.com:8443', digest: digestOf(value) },
    });
  });

  it('makes a different secret every time', () => {
    expect(generateCredential('apikey', 'id.example.com')).not.toBe(
      generateCredential('apikey', 'id.example.com'),
    );
  });

  it('ignores surrounding white space', () => {
    const value = generateCredential('token', 'id.example.com');
    expect(parseCredential(`  ${value}\n`)).toMatchObject({
      ok: true,
      credential: { digest: digestOf(value) },
    });
  });

  it('refuses a credential with any one secret character changed (checksum)', () => {
    const value = generateCredential('apikey', 'id.example.com');
    const secretStart = value.indexOf('.') + 1;
    for (let i = secretStart; i < value.length; i++) {
      expect(reason(changeAt(value, i))).toBe('malformed credential (checksum mismatch)');
    }
  });

  it('refuses a credential moved to another host (the checksum covers the host)', () => {
    const value = generateCredential('apikey', 'id.example.com');
    const secret = value.slice(value.indexOf('.') + 1);
    expect(reason(`pwt_${encodeHost('evil.example.com')}.${secret}`)).toBe(
      'malformed credential (checksum mismatch)',
    );
  });

  it.each([
    ['', 'not a Keyward API key or token (expected the pwt_ or pwut_ prefix)'],
    ['ghp_abcdef', 'not a Keyward API key or token (expected the pwt_ or pwut_ prefix)'],
    ['pwt_nodot', 'malformed credential (no host segment)'],
    ['pwt_.abc', 'malformed credential (no host segment)'],
    ['pwt_!!!.abc', 'malformed credential (the host segment is not valid base64)'],
    [`pwt_${encodeHost('a b')}.abc`, 'malformed credential (the host segment is not valid base64)'],
    [`pwt_${encodeHost('id.example.com')}.short`, 'malformed credential (bad secret)'],
    [`pwt_${encodeHost('id.example.com')}.${'a'.repeat(39)}`, 'malformed credential (bad secret)'],
    [`pwt_${encodeHost('id.example.com')}.${'a'.repeat(37)}-`, 'malformed credential (bad secret)'],
  ])('refuses %j: %s', (raw, expected) => {
    expect(reason(raw)).toBe(expected);
  });
});

describe('host segment', () => {
  it.each(['id.example.com', 'http://localhost:3000', 'https://id.example.com:8443/keyward'])(
    '%s round-trips through encodeHost/decodeHost',
    (host) => {
      expect(decodeHost(encodeHost(host))).toBe(host);
    },
  );

  it('encodes as unpadded base64url', () => {
    expect(encodeHost('a?>')).toBe('YT8-');
    expect(encodeHost('ab')).toBe('YWI');
  });

  it('decodes standard base64 and padding too, as the SDKs do', () => {
    expect(decodeHost('YT8+')).toBe('a?>');
    expect(decodeHost('YWI=')).toBe('ab');
  });

  it.each([
    ['', 'empty'],
    ['IA', 'a space'],
    ['AAEC', 'control characters'],
    ['YWJ', 'stray bits: does not round-trip'],
    ['a.b', 'not base64'],
  ])('refuses %j (%s)', (segment) => {
    expect(decodeHost(segment)).toBeUndefined();
  });

  it.each([
    ['https://id.example.com', 'id.example.com'],
    ['https://id.example.com/', 'id.example.com'],
    ['https://id.example.com:443', 'id.example.com'],
    ['https://id.example.com:8443', 'https://id.example.com:8443'],
    ['http://id.example.com', 'http://id.example.com'],
    ['https://id.example.com/keyward/', 'https://id.example.com/keyward'],
  ])('hostForBaseUrl(%s) = %s', (baseUrl, host) => {
    expect(hostForBaseUrl(baseUrl)).toBe(host);
  });
});

describe('kindOf, digestOf, hintOf', () => {
  it('tells the kind by the prefix only', () => {
    expect(kindOf('pwt_x')).toBe('apikey');
    expect(kindOf('pwut_x')).toBe('token');
    expect(kindOf('eyJhbGciOi')).toBeUndefined();
    expect(kindOf('PWT_x')).toBeUndefined();
  });

  it('digests with SHA-256 (hex)', () => {
    expect(digestOf('abc')).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
  });

  it('hints with the prefix and the last four characters, nothing else of the secret', () => {
    const value = generateCredential('token', 'id.example.com');
    expect(hintOf(value)).toBe(`pwut_…${value.slice(-4)}`);
    expect(hintOf('pwt_abc.defghijk')).toBe('pwt_…hijk');
  });
});
