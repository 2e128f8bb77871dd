/**
 * API key lifecycle over real HTTP on a real database: create (shown once), list without
 * secrets, Basic and Bearer, delete → 401 on the next request, expiry by the clock, malformed
 * and wrong-checksum keys refused before any database read, the one-method rule, title rules,
 * and what the database holds (no plaintext).
 */
import { signedInBrowser, type Browser } from '../helpers/browserless.ts';
import { createUser, PASSWORD, startKeyward, type Keyward } from '../helpers/keyward.ts';
import { basic, bearer, call, createKey, KEY_PATTERN, postKey } from '../helpers/api-keys.ts';

let k: Keyward;
let alice: Browser;

beforeAll(async () => {
  k = await startKeyward();
  await createUser(k, 'Alice', { org: 'acme' });
  alice = await signedInBrowser(k.baseUrl, 'alice', PASSWORD);
});
afterAll(async () => k?.stop());

/** Counts database operations on the credentials collection while `run` executes. */
async function credentialReads(run: () => Promise<void>): Promise<number> {
  let count = 0;
  k.container.connection.set('debug', (collection: string) => {
    if (collection === 'personal_credentials') count++;
  });
  try {
    await run();
  } finally {
    k.container.connection.set('debug', false);
  }
  return count;
}

test('create: the key is in the create response only, matches the published format, and is never stored in plaintext', async () => {
  const created = await createKey(alice, k.baseUrl, { title: 'laptop' });
  expect(created.key).toMatch(KEY_PATTERN);
  expect(created).toMatchObject({
    title: 'laptop',
    type: 'platform',
    kind: 'apikey',
    keyHint: `pwt_…${created.key.slice(-4)}`,
  });
  expect(Date.parse(created.expiration!) - Date.parse(created.created)).toBeCloseTo(
    730 * 86_400_000,
    -4,
  );

  const listed = await alice.fetch(`${k.baseUrl}/api/apikeys`, {
    headers: { accept: 'application/json' },
  });
  expect(listed.headers.get('cache-control')).toBe('no-store');
  const text = await listed.text();
  expect(text).not.toContain(created.key);
  expect(text).not.toContain(created.key.split('.')[1].slice(0, 12));
  const [row] = JSON.parse(text) as Record<string, unknown>[];
  expect(Object.keys(row).sort()).toEqual([
    'created',
    'expiration',
    'id',
    'keyHint',
    'kind',
    'status',
    'title',
    'type',
  ]);

  // Raw documents: a digest, a hint, no plaintext (nor its secret part) anywhere.
  const docs = await k.db.collection('personal_credentials').find({}).toArray();
  const raw = JSON.stringify(docs);
  expect(raw).not.toContain(created.key);
  expect(raw).not.toContain(created.key.split('.')[1]);
  expect(docs[0]._id).toMatch(/^[0-9a-f]{64}$/); // the SHA-256 digest is the primary key
  expect(docs[0].publicId).toBe(created.id);
  // Nor in the audit trail.
  expect(JSON.stringify(await k.db.collection('audit_events').find({}).toArray())).not.toContain(
    created.key.split('.')[1],
  );
});

test('the key works as Basic (key as username, empty password) and as Bearer, and records last use', async () => {
  const { key, id } = await createKey(alice, k.baseUrl, { title: 'ci' });
  const viaBasic = await call(k.baseUrl, '/api/auth/whoami', basic(key));
  expect(viaBasic).toMatchObject({ status: 200, text: 'user:Alice' });
  expect(viaBasic.type).toMatch(/^text\/plain/);
  expect((await call(k.baseUrl, '/api/auth/whoami', bearer(key))).text).toBe('user:Alice');
  // curl -u ':<key>' style (empty username, key as password) is accepted too; both filled is not.
  expect(
    (
      await call(k.baseUrl, '/api/auth/whoami', {
        authorization: `Basic ${Buffer.from(`:${key}`).toString('base64')}`,
      })
    ).status,
  ).toBe(200);
  const both = await call(k.baseUrl, '/api/auth/whoami', {
    authorization: `Basic ${Buffer.from(`${key}:secret`).toString('base64')}`,
  });
  expect(both.status).toBe(401);
  expect(both.json().message).toMatch(/API key as the username and an empty password/);

  // Recording use is not awaited by the request; give the write a moment.
  let doc;
  for (let i = 0; i < 50 && !doc?.lastUsedAt; i++) {
    doc = await k.db.collection('personal_credentials').findOne({ publicId: id });
    if (!doc?.lastUsedAt) await new Promise((r) => setTimeout(r, 20));
  }
  expect(doc?.lastUsedAt).toBeInstanceOf(Date);
  expect(doc?.lastUsedIp).toBe('127.0.0.1');
});

test('browser session only: POST /api/apikeys refuses an API key; anonymous callers get 401', async () => {
  const { key } = await createKey(alice, k.baseUrl, { title: 'not-for-minting' });
  const withKey = await call(
    k.baseUrl,
    '/api/apikeys',
    { ...basic(key), 'content-type': 'application/json' },
    { method: 'POST', body: '{}' },
  );
  expect(withKey.status).toBe(403);
  expect(withKey.json().message).toMatch(/browser session authentication/);
  const anonymous = await call(k.baseUrl, '/api/apikeys');
  expect(anonymous.status).toBe(401);
  expect(anonymous.json()).toMatchObject({ error: true, code: 'unauthenticated' });
});

test('delete by name: the key stops working on the very next request', async () => {
  const { key, title } = await createKey(alice, k.baseUrl, { title: 'short-lived script' });
  expect((await call(k.baseUrl, '/api/apikeys', bearer(key))).status).toBe(200);
  const del = await call(k.baseUrl, `/api/apikeys/${encodeURIComponent(title)}`, bearer(key), {
    method: 'DELETE',
  });
  expect(del.status).toBe(204);
  const after = await call(k.baseUrl, '/api/auth/whoami', bearer(key));
  expect(after.status).toBe(401);
  expect(after.json()).toMatchObject({
    error: true,
    code: 'unauthenticated',
    message: expect.stringMatching(/deleted or never existed/),
  });
  expect(after.headers.get('www-authenticate')).toMatch(/Basic/);
  const again = await alice.fetch(`${k.baseUrl}/api/apikeys/${encodeURIComponent(title)}`, {
    method: 'DELETE',
    headers: { accept: 'application/json' },
  });
  expect(again.status).toBe(404);
  expect(((await again.json()) as { message: string }).message).toMatch(
    /no API key or token named "short-lived script"/,
  );
  const events = await k.db
    .collection('audit_events')
    .find({ type: { $in: ['apikey.created', 'apikey.deleted'] } })
    .toArray();
  expect(events.map((e) => e.type)).toEqual(
    expect.arrayContaining(['apikey.created', 'apikey.deleted']),
  );
});

test('expiry: a key stops working when its time is up (controllable clock)', async () => {
  const { key } = await createKey(alice, k.baseUrl, { title: 'week', duration: '7' });
  const lister = await createKey(alice, k.baseUrl, { title: 'lister', duration: '30' });
  expect((await call(k.baseUrl, '/api/auth/whoami', basic(key))).status).toBe(200);
  k.clock.offsetMs += 7 * 86_400_000 - 60_000;
  try {
    expect((await call(k.baseUrl, '/api/auth/whoami', basic(key))).status).toBe(200);
    k.clock.offsetMs += 120_000;
    const expired = await call(k.baseUrl, '/api/auth/whoami', basic(key));
    expect(expired.status).toBe(401);
    expect(expired.json().message).toMatch(/expired at/);
    const listed = JSON.parse((await call(k.baseUrl, '/api/apikeys', basic(lister.key))).text) as {
      title: string;
      status: string;
    }[];
    expect(listed.find((r) => r.title === 'week')?.status).toBe('expired');
    expect(listed.find((r) => r.title === 'lister')?.status).toBe('active');
  } finally {
    k.clock.offsetMs = 0;
  }
});

test('malformed keys and wrong checksums are 401 without a database read; a well-formed unknown key is read', async () => {
  const { key } = await createKey(alice, k.baseUrl, { title: 'checksum' });
  const [head, secret] = key.split('.');
  const flip = (c: string) => (c === 'a' ? 'b' : 'a');
  const bad = {
    'wrong checksum': `${head}.${secret.slice(0, -1)}${flip(secret.slice(-1))}`,
    'changed secret': `${head}.${flip(secret[0])}${secret.slice(1)}`,
    'bad base64 host': `pwt_!!!.${secret}`,
    'wrong prefix (Basic)': `pwx_${key.slice(4)}`,
    'too short': key.slice(0, -3),
    'no host': `pwt_.${secret}`,
  };
  for (const [label, value] of Object.entries(bad)) {
    let res: Awaited<ReturnType<typeof call>> | undefined;
    const reads = await credentialReads(async () => {
      res = await call(k.baseUrl, '/api/auth/whoami', basic(value));
    });
    expect({ label, status: res!.status, reads }).toEqual({ label, status: 401, reads: 0 });
    expect(res!.json()).toMatchObject({ error: true, code: 'unauthenticated' });
  }
  // The hook does see reads: a correctly formed key that does not exist costs exactly one.
  const body = `${head}.${'A'.repeat(32)}`;
  const { crc32 } = await import('node:zlib');
  let n = crc32(Buffer.from(body));
  let sum = '';
  for (let i = 0; i < 6; i++) {
    sum = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'[n % 62] + sum;
    n = Math.floor(n / 62);
  }
  let res: Awaited<ReturnType<typeof call>> | undefined;
  const reads = await credentialReads(async () => {
    res = await call(k.baseUrl, '/api/auth/whoami', bearer(body + sum));
  });
  expect(res!.status).toBe(401);
  expect(res!.json().message).toMatch(/deleted or never existed/);
  expect(reads).toBe(1);
});

test('one method per request: a session cookie plus an Authorization header is a 400', async () => {
  const { key } = await createKey(alice, k.baseUrl, { title: 'conflict' });
  const res = await alice.fetch(`${k.baseUrl}/api/auth/whoami`, {
    headers: { ...basic(key), accept: 'application/json' },
  });
  expect(res.status).toBe(400);
  expect(await res.json()).toMatchObject({
    code: 'conflicting_credentials',
    message: expect.stringMatching(/one authentication method per request/),
  });
  for (const header of [
    'Digest abc',
    'Bearer',
    'Basic not*base64',
    `Basic ${Buffer.from('no-colon').toString('base64')}`,
    'Bearer a b',
  ]) {
    const r = await call(k.baseUrl, '/api/auth/whoami', { authorization: header });
    expect({ header, status: r.status }).toEqual({ header, status: 401 });
  }
});

test('titles: unique per user, generated when omitted, must not be empty', async () => {
  const first = await postKey(alice, k.baseUrl, { title: 'deploy' });
  expect(first.status).toBe(200);
  const dup = await postKey(alice, k.baseUrl, { title: 'deploy' });
  expect(dup.status).toBe(409);
  expect(dup.json.message).toMatch(/already have an API key or token named "deploy"/);
  const generated = await postKey(alice, k.baseUrl, {});
  expect(generated.json.title).toMatch(/^token-\d{8}-\d{6}-[0-9a-f]{4}$/);
  for (const title of ['', '   ', 'x'.repeat(101), 'tab\there']) {
    const r = await postKey(alice, k.baseUrl, { title });
    expect({ title, status: r.status, code: r.json.code }).toEqual({
      title,
      status: 400,
      code: 'validation_failed',
    });
  }
  // Another user may reuse the name.
  await createUser(k, 'bob');
  const bob = await signedInBrowser(k.baseUrl, 'bob', PASSWORD);
  expect((await postKey(bob, k.baseUrl, { title: 'deploy' })).status).toBe(200);
  const bobsList = (await (
    await bob.fetch(`${k.baseUrl}/api/apikeys`, { headers: { accept: 'application/json' } })
  ).json()) as { title: string }[];
  expect(bobsList.map((r) => r.title)).toEqual(['deploy']);
});

test('duration and expiresIn rules (default policy: at most 730 days, no never-expiring keys)', async () => {
  const cases: [unknown, number, RegExp][] = [
    [{ duration: '30', expiresIn: 3600 }, 400, /cannot be combined/],
    [{ duration: '731' }, 400, /at most 730 days/],
    [{ duration: '' }, 400, /never expire need an Unlimited/],
    [{ duration: '0' }, 400, /never expire need an Unlimited/],
    [{ duration: '1x' }, 400, /duration/],
    [{ duration: '123456' }, 400, /duration/],
    [{ expiresIn: 899 }, 400, /expiresIn/],
    [{ expiresIn: 731 * 86400 }, 400, /at most 730 days/],
    [{ type: 'ai' }, 400, /not available/],
  ];
  for (const [body, status, message] of cases) {
    const r = await postKey(alice, k.baseUrl, body);
    expect({ body, status: r.status }).toEqual({ body, status });
    expect(String(r.json.message)).toMatch(message);
  }
  const hour = await createKey(alice, k.baseUrl, { expiresIn: 3600 });
  expect(Date.parse(hour.expiration!) - Date.parse(hour.created)).toBeCloseTo(3_600_000, -3);
  const days = await createKey(alice, k.baseUrl, { duration: 90 });
  expect(Date.parse(days.expiration!) - Date.parse(days.created)).toBeCloseTo(90 * 86_400_000, -3);
});

test('sudo mode: creating or deleting needs a recent sign-in or re-verification', async () => {
  const { title } = await createKey(alice, k.baseUrl, { title: 'sudo-later' });
  const page = await (await alice.fetch(`${k.baseUrl}/account/api-keys`)).text();
  const csrf = /name="_csrf" value="([^"]+)"/.exec(page)![1];
  k.clock.offsetMs += 11 * 60_000; // past the 10-minute sudo window
  try {
    const viaApi = await postKey(alice, k.baseUrl, { title: 'too-late' });
    expect(viaApi.status).toBe(403);
    expect(viaApi.json).toMatchObject({
      code: 'sudo_required',
      message: expect.stringMatching(/before you create an API key/),
    });
    const del = await alice.fetch(`${k.baseUrl}/api/apikeys/${title}`, {
      method: 'DELETE',
      headers: { accept: 'application/json' },
    });
    expect(del.status).toBe(403);
    const viaPage = await alice.postForm(`${k.baseUrl}/account/api-keys`, {
      _csrf: csrf,
      title: 'too-late',
    });
    expect(viaPage.status).toBe(302);
    expect(viaPage.headers.get('location')).toBe('/account/verify?next=%2Faccount%2Fapi-keys');
  } finally {
    k.clock.offsetMs = 0;
  }
  const names = (
    JSON.parse(
      await (
        await alice.fetch(`${k.baseUrl}/api/apikeys`, { headers: { accept: 'application/json' } })
      ).text(),
    ) as { title: string }[]
  ).map((r) => r.title);
  expect(names).toContain('sudo-later');
  expect(names).not.toContain('too-late');
});
