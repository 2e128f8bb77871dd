/**
 * The optional verification cache (credentials.verifyCacheMs): repeated use costs no database
 * read, yet deleting, revoking, expiry and enforce-mfa flags still apply on the next request.
 */
import { signedInBrowser, type Browser } from './helpers/browserless.ts';
import { createUser, PASSWORD, startKeyward, type Keyward } from './helpers/keyward.ts';
import { basic, call, createKey } from './helpers/api-keys.ts';

let k: Keyward;
let alice: Browser;

beforeAll(async () => {
  k = await startKeyward({ credentials: { verifyCacheMs: 60_000 } });
  await createUser(k, 'alice', { org: 'acme' });
  alice = await signedInBrowser(k.baseUrl, 'alice', PASSWORD);
});
afterAll(async () => k?.stop());

/** Database operations on any collection while `run` executes. */
async function reads(run: () => Promise<unknown>): Promise<string[]> {
  const seen: string[] = [];
  k.container.connection.set('debug', (collection: string, method: string) => { seen.push(`${collection}.${method}`); });
  try { await run(); } finally { k.container.connection.set('debug', false); }
  return seen;
}

test('a cached key costs no read; deleting it still stops it on the next request', async () => {
  const { key, title } = await createKey(alice, k.baseUrl, { title: 'cached' });
  expect(await reads(() => call(k.baseUrl, '/api/auth/whoami', basic(key)))).toEqual(expect.arrayContaining(['personal_credentials.findOne', 'accounts.findOne']));
  expect(await reads(() => call(k.baseUrl, '/api/auth/whoami', basic(key)))).toEqual([]);
  expect((await call(k.baseUrl, `/api/apikeys/${title}`, basic(key), { method: 'DELETE' })).status).toBe(204);
  expect((await call(k.baseUrl, '/api/auth/whoami', basic(key))).status).toBe(401);
});

test('revoked as leaked, and expired, while cached: refused on the next request', async () => {
  const leaked = (await createKey(alice, k.baseUrl, { title: 'leaked' })).key;
  const short = (await createKey(alice, k.baseUrl, { title: 'short', expiresIn: 900 })).key;
  for (const key of [leaked, short]) expect((await call(k.baseUrl, '/api/auth/whoami', basic(key))).status).toBe(200);
  await fetch(`${k.baseUrl}/api/credentials/revoke`, { method: 'POST', body: JSON.stringify({ credentials: [leaked] }), headers: { 'content-type': 'application/json' } });
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
