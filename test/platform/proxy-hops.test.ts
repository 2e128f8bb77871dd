/**
 * KEYWARD_TRUST_PROXY is the number of reverse proxies in front of Keyward (issue 11, item 6).
 * Each proxy appends the address it received the request from to X-Forwarded-For, so the client
 * address is that many entries from the right; whatever is further left came from the client and
 * may be anything. Audit events, the device confirmation page and every per-IP throttle must see
 * the address the proxy appended, never a forged leftmost entry.
 */
import { randomBytes } from 'node:crypto';
import { ConfigError, loadConfig } from '../../src/platform/config/load-config.ts';
import { createUser, PASSWORD, startKeyward, type Keyward } from '../helpers/keyward.ts';
import { Browser, formAction, formField, signedInBrowser } from '../helpers/browserless.ts';
import { createKey } from '../helpers/api-keys.ts';
import { enterCode, startDevice } from '../helpers/device.ts';
import { atOnce } from '../helpers/at-once.ts';

const FORGED = '203.0.113.66';

test('configuration: false or 0 is no proxy, true is one, a number is that many; anything else is refused by name', () => {
  const hops = (value: string) => loadConfig({ KEYWARD_TRUST_PROXY: value }).trustProxy;
  expect(['false', '0', 'no', '', 'true', 'yes', '1', '2', '10'].map(hops)).toEqual([
    0, 0, 0, 0, 1, 1, 1, 2, 10,
  ]);
  expect(loadConfig({}).trustProxy).toBe(0);
  for (const bad of ['maybe', '-1', '1.5', '11', 'all']) {
    expect(() => loadConfig({ KEYWARD_TRUST_PROXY: bad })).toThrow(ConfigError);
    expect(() => loadConfig({ KEYWARD_TRUST_PROXY: bad })).toThrow(
      'Invalid configuration: KEYWARD_TRUST_PROXY must be false (no proxy), true (one proxy) or the number of trusted proxies in front of Keyward, 0 to 10',
    );
  }
});

describe('behind one proxy (KEYWARD_TRUST_PROXY=true)', () => {
  let k: Keyward;
  let alice: Browser;
  beforeAll(async () => {
    k = await startKeyward({
      trustProxy: true,
      credentials: { revokeFreeRequests: 8, revokeWindowSeconds: 600 },
      deviceFlow: { intervalSeconds: 1 },
    });
    await createUser(k, 'alice');
    alice = await signedInBrowser(k.baseUrl, 'alice', PASSWORD);
  });
  afterAll(async () => k?.stop());

  const revoke = (xff: string, credentials: string[]) =>
    fetch(`${k.baseUrl}/api/credentials/revoke`, {
      method: 'POST',
      body: JSON.stringify({ credentials }),
      headers: { 'content-type': 'application/json', 'x-forwarded-for': xff },
    });
  const throttleKeys = async (prefix: string) =>
    (
      await k.db
        .collection('throttle_failures')
        .find({ key: { $regex: `^${prefix}` } })
        .toArray()
    ).map((f) => f.key as string);

  test('audit events and the per-IP throttle record the address the proxy appended, not a forged leftmost entry', async () => {
    const { key, title } = await createKey(alice, k.baseUrl, {
      title: `leaked-${randomBytes(4).toString('hex')}`,
    });
    expect((await revoke(`${FORGED}, 198.51.100.23`, [key])).status).toBe(202);
    const event = await k.db
      .collection('audit_events')
      .findOne({ type: 'apikey.revoked', 'details.name': title });
    expect(event?.ip).toBe('198.51.100.23');
    const keys = await throttleKeys('revoke-leaked:ip:');
    expect(keys).toContain('revoke-leaked:ip:198.51.100.23');
    expect(keys.filter((x) => x.includes(FORGED))).toEqual([]);
  });

  test('a new forged entry on each request does not escape the per-IP throttle (8 at once, then refused)', async () => {
    const client = `198.51.100.${100 + Math.floor(Math.random() * 100)}`;
    const statuses = await atOnce(
      8,
      async (i) => (await revoke(`10.66.${i}.1, ${client}`, ['pwt_x.y'])).status,
    );
    expect(statuses).toEqual(Array(8).fill(202));
    expect((await throttleKeys(`revoke-leaked:ip:${client}`)).length).toBeGreaterThan(0);
    expect(await throttleKeys('revoke-leaked:ip:10.')).toEqual([]);
    // One at a time, each with a fresh forged entry: the client's own count still reaches the limit (8 free).
    const later: number[] = [];
    for (let i = 0; i < 9; i++)
      later.push((await revoke(`10.77.${i}.1, ${client}`, ['pwt_x.y'])).status);
    expect(later).toContain(429);
    expect(await throttleKeys('revoke-leaked:ip:10.')).toEqual([]);
  });

  test('the device confirmation page shows the address the proxy appended for the device', async () => {
    const start = await startDevice(k.issuer, {}, { 'x-forwarded-for': `${FORGED}, 192.0.2.44` });
    const confirm = await enterCode(alice, k.issuer, start.user_code);
    expect(confirm.status).toBe(200);
    expect(confirm.html).toMatch(/Requested from<\/dt><dd><code>192\.0\.2\.44<\/code>/);
    expect(confirm.html).not.toContain(FORGED);
  });
});

describe('behind two proxies (KEYWARD_TRUST_PROXY=2), and with none', () => {
  let k: Keyward;
  beforeAll(async () => {
    k = await startKeyward({ trustProxy: 2 });
    await createUser(k, 'bob');
  });
  afterAll(async () => k?.stop());

  /** A wrong password on the real sign-in form, X-Forwarded-For as the proxies pass it on. */
  async function failSignIn(target: Keyward, xff: string) {
    const browser = new Browser();
    const { res, url } = await browser.follow(`${target.baseUrl}/signin`);
    const html = await res.text();
    const action = new URL(formAction(html, '/login'), url).toString();
    const posted = await browser.fetch(action, {
      method: 'POST',
      body: new URLSearchParams({
        _csrf: formField(html, '_csrf'),
        username: 'bob',
        password: 'not the password at all',
      }),
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': xff },
    });
    expect(posted.status).toBe(401);
  }
  /** The distinct per-IP sign-in throttle keys. */
  const loginKeys = async (target: Keyward) => [
    ...new Set(
      (
        await target.db
          .collection('throttle_failures')
          .find({ key: { $regex: '^login:ip:' } })
          .toArray()
      ).map((f) => f.key as string),
    ),
  ];

  test('the client is the second entry from the right, and the sign-in throttle keys on it; with no proxy the header is ignored', async () => {
    await failSignIn(k, `${FORGED}, 198.51.100.31, 10.0.0.2`);
    expect(await loginKeys(k)).toEqual(['login:ip:198.51.100.31']);

    const direct = await startKeyward({ trustProxy: false });
    try {
      await createUser(direct, 'bob');
      await failSignIn(direct, `${FORGED}, 198.51.100.31`);
      expect(await loginKeys(direct)).toEqual(['login:ip:127.0.0.1']);
    } finally {
      await direct.stop();
    }
  });
});

describe('behind a proxy that passes its own Host (public URL https://id.example.test)', () => {
  let k: Keyward;
  beforeAll(async () => {
    k = await startKeyward({ trustProxy: 1, publicUrl: 'https://id.example.test' });
  });
  afterAll(async () => k?.stop());

  test('a request with the session cookie proves its origin by the configured public origin; another origin is refused', async () => {
    // Keyward sees the proxy's Host (127.0.0.1:port), not the public one. Any session cookie makes a
    // cookie caller (the check runs before the cookie is looked at), so none needs to be valid here.
    const direct = `http://127.0.0.1:${(k.server.address() as { port: number }).port}`;
    const post = (origin: string) =>
      fetch(`${direct}/api/credentials/revoke`, {
        method: 'POST',
        body: '{"credentials":["pwt_x.y"]}',
        headers: {
          cookie: '_session=whatever',
          origin,
          accept: 'application/json',
          'content-type': 'application/json',
          'x-forwarded-for': '198.51.100.9',
        },
      });
    expect((await post('https://evil.example.test')).status).toBe(403);
    expect((await post('https://id.example.test')).status).toBe(202);
  });
});
