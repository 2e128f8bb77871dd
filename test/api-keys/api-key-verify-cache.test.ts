/**
 * The verification cache (on by default): repeated use costs no database read, yet deleting,
 * revoking, expiry, enforce-mfa suspensions and disabled owners apply on the next request in
 * this process, and within a poll interval when another process (a replica, the admin script)
 * made the change. When the revocation signal cannot be read, the cache is bypassed.
 */
import { signedInBrowser, type Browser } from '../helpers/browserless.ts';
import {
  createUser,
  databaseUri,
  PASSWORD,
  startKeyward,
  TEST_ENCRYPTION_KEY,
  type Keyward,
} from '../helpers/keyward.ts';
import { basic, bearer, call, createKey } from '../helpers/api-keys.ts';
import { run } from '../helpers/ssh-cert.ts';
import { ChangeSignalRepository } from '../../src/platform/store/change-signal-repository.ts';

let k: Keyward;
let alice: Browser;

beforeAll(async () => {
  k = await startKeyward();
  await createUser(k, 'alice', { org: 'acme' });
  alice = await signedInBrowser(k.baseUrl, 'alice', PASSWORD);
});
afterAll(async () => k?.stop());

/** Database operations by `on` while `action` executes, except the revocation signal's background poll. */
async function reads(action: () => Promise<unknown>, on: Keyward = k): Promise<string[]> {
  const seen: string[] = [];
  on.container.connection.set('debug', (collection: string, method: string) => {
    seen.push(`${collection}.${method}`);
  });
  try {
    await action();
  } finally {
    on.container.connection.set('debug', false);
  }
  return seen.filter((op) => !op.startsWith('change_signals.'));
}

test('a cached key costs no read; deleting it still stops it on the next request', async () => {
  const { key, title } = await createKey(alice, k.baseUrl, { title: 'cached' });
  // The first use reads the credential (its owner may come from the directory cache).
  expect(await reads(() => call(k.baseUrl, '/api/auth/whoami', basic(key)))).toEqual(
    expect.arrayContaining(['personal_credentials.findOne']),
  );
  expect(await reads(() => call(k.baseUrl, '/api/auth/whoami', basic(key)))).toEqual([]);
  expect(
    (await call(k.baseUrl, `/api/apikeys/${title}`, basic(key), { method: 'DELETE' })).status,
  ).toBe(204);
  expect((await call(k.baseUrl, '/api/auth/whoami', basic(key))).status).toBe(401);
});

test('a CLI token is remembered too', async () => {
  const { key } = await createKey(alice, k.baseUrl, { title: 'mint' });
  const token = JSON.parse(
    (await call(k.baseUrl, '/api/auth/token?ttl=2', basic(key))).text,
  ) as string;
  expect((await call(k.baseUrl, '/api/auth/whoami', bearer(token))).status).toBe(200);
  let status = 0;
  expect(
    await reads(async () => {
      status = (await call(k.baseUrl, '/api/auth/whoami', bearer(token))).status;
    }),
  ).toEqual([]);
  expect(status).toBe(200);
});

test('concurrent first uses of a key share one database lookup', async () => {
  const { key } = await createKey(alice, k.baseUrl, { title: 'herd' });
  const statuses: number[] = [];
  const ops = await reads(async () => {
    statuses.push(
      ...(await Promise.all(
        Array.from(
          { length: 16 },
          async () => (await call(k.baseUrl, '/api/auth/whoami', basic(key))).status,
        ),
      )),
    );
  });
  expect(statuses).toEqual(Array(16).fill(200));
  expect(ops.filter((op) => op === 'personal_credentials.findOne')).toHaveLength(1);
  expect(ops.filter((op) => op === 'accounts.findOne').length).toBeLessThanOrEqual(1);
});

test('revoked as leaked, and expired, while cached: refused on the next request', async () => {
  const leaked = (await createKey(alice, k.baseUrl, { title: 'leaked' })).key;
  const short = (await createKey(alice, k.baseUrl, { title: 'short', expiresIn: 900 })).key;
  for (const key of [leaked, short])
    expect((await call(k.baseUrl, '/api/auth/whoami', basic(key))).status).toBe(200);
  await fetch(`${k.baseUrl}/api/credentials/revoke`, {
    method: 'POST',
    body: JSON.stringify({ credentials: [leaked] }),
    headers: { 'content-type': 'application/json' },
  });
  expect((await call(k.baseUrl, '/api/auth/whoami', basic(leaked))).status).toBe(401);
  k.clock.offsetMs += 901_000;
  try {
    expect((await call(k.baseUrl, '/api/auth/whoami', basic(short))).status).toBe(401);
  } finally {
    k.clock.offsetMs = 0;
  }
});

test('enforce-mfa flags drop cached verifications of the affected members', async () => {
  const { key } = await createKey(alice, k.baseUrl, { title: 'flag-me' });
  expect((await call(k.baseUrl, '/api/auth/whoami', basic(key))).status).toBe(200);
  const org = (await k.container.organizations.findByName('acme'))!;
  await k.container.policies.set(`org:${org.id}`, 'enforce-mfa', true);
  try {
    const r = await call(k.baseUrl, '/api/auth/whoami', basic(key));
    expect(r.status).toBe(401);
    expect(r.json().message).toMatch(/suspended/);
  } finally {
    await k.container.policies.clear(`org:${org.id}`, 'enforce-mfa');
  }
});

/** Milliseconds until `key` is refused by `on`, polling every 20 ms for at most 5 s. */
async function msUntilRefused(on: Keyward, key: string): Promise<number> {
  const started = performance.now();
  while (performance.now() - started < 5000) {
    if ((await call(on.baseUrl, '/api/auth/whoami', basic(key))).status === 401)
      return performance.now() - started;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('still accepted after 5 s');
}

/** The key is accepted by `on` and, the second time, from its cache (no database read). */
async function expectCached(on: Keyward, key: string): Promise<void> {
  expect((await call(on.baseUrl, '/api/auth/whoami', basic(key))).status).toBe(200);
  let status = 0;
  expect(
    await reads(async () => {
      status = (await call(on.baseUrl, '/api/auth/whoami', basic(key))).status;
    }, on),
  ).toEqual([]);
  expect(status).toBe(200);
}

test('a key revoked through another replica is refused here within a poll interval, not the cache lifetime', async () => {
  const replica = await startKeyward({}, { sharing: k });
  try {
    const { key } = await createKey(alice, k.baseUrl, { title: 'replicated' });
    await expectCached(k, key);
    expect((await call(replica.baseUrl, '/api/auth/whoami', basic(key))).status).toBe(200);
    const revoked = await fetch(`${replica.baseUrl}/api/credentials/revoke`, {
      method: 'POST',
      body: JSON.stringify({ credentials: [key] }),
      headers: { 'content-type': 'application/json' },
    });
    expect(revoked.status).toBeLessThan(300);
    expect((await call(replica.baseUrl, '/api/auth/whoami', basic(key))).status).toBe(401);
    // Poll interval 250 ms; the cache would otherwise keep the key for 60 s.
    expect(await msUntilRefused(k, key)).toBeLessThan(3000);
  } finally {
    await replica.stop();
  }
});

test('a user disabled by the admin script (another process) is refused within a poll interval', async () => {
  await createUser(k, 'bob', { org: 'acme' });
  const bob = await signedInBrowser(k.baseUrl, 'bob', PASSWORD);
  const { key } = await createKey(bob, k.baseUrl, { title: 'bob-key' });
  await expectCached(k, key);
  const script = await run(
    process.execPath,
    [
      '--disable-warning=ExperimentalWarning',
      'scripts/admin.ts',
      'disable-user',
      '--username',
      'bob',
    ],
    {
      env: {
        MONGODB_URI: databaseUri(k.db.databaseName),
        KEYWARD_ENCRYPTION_KEY: TEST_ENCRYPTION_KEY,
        KEYWARD_LOG_LEVEL: 'silent',
      },
      timeoutMs: 60_000,
    },
  );
  expect(script).toMatchObject({ code: 0, stdout: expect.stringContaining('bob disabled') });
  expect(await msUntilRefused(k, key)).toBeLessThan(3000);
  const r = await call(k.baseUrl, '/api/auth/whoami', basic(key));
  expect(r.json().message).toMatch(/disabled/);
}, 90_000);

test('a user disabled in this process is refused on the very next request', async () => {
  await createUser(k, 'carl', { org: 'acme' });
  const carl = await signedInBrowser(k.baseUrl, 'carl', PASSWORD);
  const { key } = await createKey(carl, k.baseUrl, { title: 'carl-key' });
  await expectCached(k, key);
  await k.container.accounts.setDisabled('carl', true);
  expect((await call(k.baseUrl, '/api/auth/whoami', basic(key))).status).toBe(401);
});

test('when the revocation signal goes unread, the cache is bypassed and every request reads the database', async () => {
  const { key } = await createKey(alice, k.baseUrl, { title: 'stale-signal' });
  await expectCached(k, key);
  k.container.revocations.stop();
  await new Promise((r) => setTimeout(r, 2200)); // staleAfterMs = max(2 s, 4 polls)
  expect(await reads(() => call(k.baseUrl, '/api/auth/whoami', basic(key)))).toEqual(
    expect.arrayContaining(['personal_credentials.findOne']),
  );
  await k.container.revocations.start();
  await expectCached(k, key);
});

test('concurrent first announcements all succeed (FerretDB upserts race on the new row)', async () => {
  const repo = new ChangeSignalRepository(k.container.connection);
  const name = `race-${Date.now()}`;
  const tokens = Array.from({ length: 8 }, (_, i) => `t${i}`);
  await Promise.all(tokens.map((t) => repo.write(name, t, new Date())));
  expect(tokens).toContain(await repo.read(name));
});
