/** Configuration: defaults work with nothing set; every bad value is named; production is strict. */
import { randomBytes } from 'node:crypto';
import { ConfigError, loadConfig } from '../../src/platform/config/load-config.ts';

const KEY = randomBytes(32).toString('base64');
const prodEnv = {
  NODE_ENV: 'production',
  KEYWARD_PUBLIC_URL: 'https://id.example.com',
  MONGODB_URI: 'mongodb://db:27017/keyward',
  KEYWARD_COOKIE_KEYS: randomBytes(32).toString('base64url'),
  KEYWARD_ENCRYPTION_KEY: KEY,
  KEYWARD_CLIENTS: JSON.stringify([
    {
      client_id: 'web',
      client_secret: randomBytes(32).toString('base64url'),
      redirect_uris: ['https://app.example.com/cb'],
    },
  ]),
};

test('development defaults need no configuration', () => {
  const c = loadConfig({});
  expect(c.env).toBe('development');
  expect(c.issuer).toBe('http://localhost:3000/api/oidc');
  expect(c.mongodbUri).toBeUndefined();
  expect(c.clients.map((x) => x.client_id)).toEqual(expect.arrayContaining(['pw-web', 'pw-cli']));
  expect(c.argon2).toEqual({ memoryKiB: 19456, passes: 2, parallelism: 1 });
});

test('environment variables override defaults', () => {
  const c = loadConfig({
    PORT: '4000',
    KEYWARD_PUBLIC_URL: 'https://id.example.com/',
    KEYWARD_TRUST_PROXY: 'true',
    MONGODB_URI: 'mongodb://h:1/x',
  });
  expect(c.port).toBe(4000);
  expect(c.issuer).toBe('https://id.example.com/api/oidc');
  expect(c.trustProxy).toBe(1); // one proxy (see proxy-hops.test.ts)
  expect(c.mongodbUri).toBe('mongodb://h:1/x');
});

test.each([
  [{ PORT: 'abc' }, /PORT must be an integer between 0 and 65535 \(got "abc"\)/],
  [{ PORT: '70000' }, /PORT/],
  [
    { KEYWARD_TRUST_PROXY: 'maybe' },
    /KEYWARD_TRUST_PROXY must be false \(no proxy\), true \(one proxy\) or the number of trusted proxies/,
  ],
  [{ MONGODB_URI: 'postgres://x' }, /MONGODB_URI must start with mongodb:\/\//],
  [{ KEYWARD_PUBLIC_URL: 'not a url' }, /KEYWARD_PUBLIC_URL/],
  [{ KEYWARD_LOG_LEVEL: 'loud' }, /KEYWARD_LOG_LEVEL/],
  [{ KEYWARD_CLIENTS: '{not json' }, /KEYWARD_CLIENTS must be a JSON array/],
  [
    { KEYWARD_CLIENTS: '[{"client_id":"x","redirect_uris":[]}]' },
    /KEYWARD_CLIENTS.*confidential client needs client_secret/,
  ],
  [{ KEYWARD_ENCRYPTION_KEY: 'c2hvcnQ=' }, /KEYWARD_ENCRYPTION_KEY must be a 32-byte base64 key/],
  [{ NODE_ENV: 'staging' }, /NODE_ENV must be development, production or test/],
])('%j is refused naming the variable', (env, message) => {
  expect(() => loadConfig(env)).toThrow(ConfigError);
  expect(() => loadConfig(env)).toThrow(message);
});

test('secrets are never echoed in error messages', () => {
  expect(() => loadConfig({ KEYWARD_ENCRYPTION_KEY: 'c2VjcmV0LXZhbHVl' })).not.toThrow(
    /c2VjcmV0LXZhbHVl/,
  );
});

test('a configuration file overrides defaults and is named in errors', async () => {
  const { writeFileSync, mkdtempSync } = await import('node:fs');
  const dir = mkdtempSync('/tmp/kwcfg-');
  writeFileSync(`${dir}/ok.json`, JSON.stringify({ port: 5000 }));
  writeFileSync(`${dir}/bad.json`, JSON.stringify({ ttl: { accessTokenSeconds: -1 } }));
  expect(loadConfig({ KEYWARD_CONFIG_FILE: `${dir}/ok.json` }).port).toBe(5000);
  expect(() => loadConfig({ KEYWARD_CONFIG_FILE: `${dir}/bad.json` })).toThrow(
    /ttl\.accessTokenSeconds .*bad\.json/,
  );
  expect(() => loadConfig({ KEYWARD_CONFIG_FILE: `${dir}/missing.json` })).toThrow(
    /KEYWARD_CONFIG_FILE: cannot read/,
  );
});

test('production starts with strong secrets', () => {
  const c = loadConfig(prodEnv);
  expect(c.env).toBe('production');
  expect(c.encryptionKeys?.[0].version).toBe('1');
});

test.each([
  ['KEYWARD_COOKIE_KEYS', undefined, /KEYWARD_COOKIE_KEYS is required in production/],
  ['KEYWARD_COOKIE_KEYS', 'short', /every key must be at least 32 characters/],
  ['KEYWARD_ENCRYPTION_KEY', undefined, /KEYWARD_ENCRYPTION_KEY is required in production/],
  ['KEYWARD_PUBLIC_URL', 'http://id.example.com', /must use https in production/],
  ['MONGODB_URI', undefined, /MONGODB_URI is required in production/],
  [
    'KEYWARD_CLIENTS',
    JSON.stringify([
      {
        client_id: 'web',
        client_secret: 'dev-only-pw-web-secret-change-me-in-production',
        redirect_uris: [],
      },
    ]),
    /client "web" has a weak or development client_secret/,
  ],
])('production refuses a missing or weak %s', (name, value, message) => {
  const env: Record<string, string | undefined> = { ...prodEnv, [name]: value };
  expect(() => loadConfig(env)).toThrow(message);
});

test('the default configuration (with development client secrets) refuses production', () => {
  expect(() => loadConfig({ ...prodEnv, KEYWARD_CLIENTS: undefined })).toThrow(
    /weak or development client_secret/,
  );
});

test('versioned encryption keys: the first is active', () => {
  const k2 = randomBytes(32).toString('base64');
  const c = loadConfig({ KEYWARD_ENCRYPTION_KEY: `v2=${k2},v1=${KEY}` });
  expect(c.encryptionKeys?.map((k) => k.version)).toEqual(['v2', 'v1']);
});
