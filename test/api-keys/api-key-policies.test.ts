/**
 * Organization policies for API keys and CLI tokens (max-api-key-ttl, api-key-expiry-choice,
 * cli-token-ttl; platform wins), and policy effects: a disabled user's credentials stop at once;
 * enforce-mfa suspends credentials of members without a second factor until they enrol one.
 */
import { generate } from 'otplib';
import { signedInBrowser, type Browser } from '../helpers/browserless.ts';
import { createUser, PASSWORD, startKeyward, type Keyward } from '../helpers/keyward.ts';
import { basic, bearer, call, createKey, postKey } from '../helpers/api-keys.ts';

let k: Keyward;
let olga: Browser; // acme admin
let mike: Browser; // acme member
let root: Browser; // platform admin

beforeAll(async () => {
  k = await startKeyward();
  await createUser(k, 'olga', { org: 'acme', admin: true });
  await createUser(k, 'mike', { org: 'acme' });
  const r = await createUser(k, 'root');
  await k.db
    .collection('accounts')
    .updateOne({ _id: r.id as never }, { $set: { platformAdmin: true } });
  [olga, mike, root] = await Promise.all(
    ['olga', 'mike', 'root'].map((u) => signedInBrowser(k.baseUrl, u, PASSWORD)),
  );
});
afterAll(async () => k?.stop());

async function setPolicy(
  b: Browser,
  path: string,
  value: unknown,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const method = value === undefined ? 'DELETE' : 'POST';
  const res = await b.fetch(`${k.baseUrl}${path}`, {
    method,
    body: value === undefined ? undefined : JSON.stringify(value),
    headers: { 'content-type': 'application/json', accept: 'application/json' },
  });
  return {
    status: res.status,
    body: res.status === 204 ? {} : ((await res.json()) as Record<string, unknown>),
  };
}
const org = (name: string, value: unknown) =>
  setPolicy(olga, `/api/organizations/acme/policies/${name}`, value);
const days = (c: { created: string; expiration?: string }) =>
  (Date.parse(c.expiration!) - Date.parse(c.created)) / 86_400_000;
const page = async (b: Browser) => (await b.fetch(`${k.baseUrl}/account/api-keys`)).text();
/** The page with the "Add Key" form open (its Expiration list). */
const keyForm = async (b: Browser) =>
  (await b.fetch(`${k.baseUrl}/account/api-keys?new=key`)).text();
const expirationList = (html: string) =>
  [...html.matchAll(/<option value="([^"]*)"[^>]*>([^<]*)<\/option>/g)].map((m) => m[2]);

test('policy values are validated and listed with their defaults', async () => {
  const listed = await olga.fetch(`${k.baseUrl}/api/organizations/acme/policies`, {
    headers: { accept: 'application/json' },
  });
  expect(await listed.json()).toMatchObject({
    'max-api-key-ttl': { level: 'default', value: 730 },
    'api-key-expiry-choice': { level: 'default', value: true },
    'cli-token-ttl': { level: 'default', value: 24 },
  });
  for (const [name, value] of [
    ['max-api-key-ttl', -1],
    ['max-api-key-ttl', 'Unlimited'],
    ['api-key-expiry-choice', 'yes'],
    ['cli-token-ttl', 25],
    ['cli-token-ttl', 0],
  ] as const) {
    const r = await org(name, value);
    expect({ name, value, status: r.status }).toEqual({ name, value, status: 400 });
    expect(String(r.body.message)).toMatch(new RegExp(`Invalid value for policy "${name}"`));
  }
});

test('max-api-key-ttl: the maximum applies to duration, expiresIn and the default; 0 means Unlimited; platform wins', async () => {
  expect((await org('max-api-key-ttl', 30)).status).toBe(200);
  const over = await postKey(mike, k.baseUrl, { duration: '31' });
  expect(over.status).toBe(400);
  expect(over.json.message).toMatch(/at most 30 days/);
  expect((await postKey(mike, k.baseUrl, { expiresIn: 31 * 86400 })).status).toBe(400);
  expect(days(await createKey(mike, k.baseUrl, {}))).toBeCloseTo(30, 3);
  let html = await keyForm(mike);
  expect(expirationList(html)).toEqual(['7 days', '30 days']);
  expect(html).toMatch(/<option value="7"[^>]*>7 days<\/option>/);
  expect(html).toMatch(/<option value="30"[^>]*>30 days<\/option>/);
  expect(html).not.toMatch(/value="60"|value="90"|No expiration/);

  expect((await org('max-api-key-ttl', 0)).status).toBe(200);
  const never = await createKey(mike, k.baseUrl, { title: 'forever', duration: '' });
  expect(never.expiration).toBeUndefined();
  expect((await createKey(mike, k.baseUrl, { duration: '0' })).expiration).toBeUndefined();
  expect(days(await createKey(mike, k.baseUrl, { duration: '1000' }))).toBeCloseTo(1000, 3);
  html = await keyForm(mike);
  // The documentation's list, exactly, when the organization allows keys that never expire.
  expect(expirationList(html)).toEqual([
    'No expiration',
    '7 days',
    '30 days',
    '60 days',
    '90 days',
  ]);
  expect(html).toMatch(/<option value="none"[^>]*>No expiration<\/option>/);
  expect(html).toMatch(/value="90"/);

  // A platform value wins over the organization's.
  expect((await setPolicy(root, '/api/platform/policies/max-api-key-ttl', 10)).status).toBe(200);
  expect((await postKey(mike, k.baseUrl, { duration: '' })).json.message).toMatch(
    /at most 10 days/,
  );
  expect((await setPolicy(root, '/api/platform/policies/max-api-key-ttl', undefined)).status).toBe(
    204,
  );
  expect((await org('max-api-key-ttl', undefined)).status).toBe(204);
});

test('api-key-expiry-choice = false: no lifetime may be chosen; keys get the maximum, tokens the org default', async () => {
  expect((await org('api-key-expiry-choice', false)).status).toBe(200);
  expect((await org('cli-token-ttl', 4)).status).toBe(200);
  try {
    for (const body of [{ duration: '7' }, { expiresIn: 3600 }, { duration: '' }]) {
      const r = await postKey(mike, k.baseUrl, body);
      expect({ body, status: r.status }).toEqual({ body, status: 403 });
      expect(r.json.message).toMatch(/policy sets the expiration/);
    }
    expect(days(await createKey(mike, k.baseUrl, { title: 'org-default' }))).toBeCloseTo(730, 3);

    const chosen = await mike.fetch(`${k.baseUrl}/api/auth/token?ttl=2`, {
      headers: { accept: 'application/json' },
    });
    expect(chosen.status).toBe(403);
    const token = JSON.parse(
      await (
        await mike.fetch(`${k.baseUrl}/api/auth/token`, { headers: { accept: 'application/json' } })
      ).text(),
    ) as string;
    const listed = JSON.parse((await call(k.baseUrl, '/api/apikeys', bearer(token))).text) as {
      kind: string;
      created: string;
      expiration: string;
    }[];
    const row = listed.find((r) => r.kind === 'token')!;
    expect((Date.parse(row.expiration) - Date.parse(row.created)) / 3_600_000).toBeCloseTo(4, 3);

    const html = await page(mike);
    expect(html).not.toContain('id="key-expiration"');
    expect(html).not.toContain('id="token-ttl"');
    expect(html).toContain('Your organization sets the expiration: keys expire after 730 days.');
    expect(html).toContain('Tokens expire after 4 hours');
  } finally {
    await org('api-key-expiry-choice', undefined);
    await org('cli-token-ttl', undefined);
  }
});

test('a disabled user: every key and token stops on the next request, and works again when re-enabled', async () => {
  await createUser(k, 'dora', { org: 'acme' });
  const dora = await signedInBrowser(k.baseUrl, 'dora', PASSWORD);
  const { key } = await createKey(dora, k.baseUrl, { title: 'dora-key' });
  const token = JSON.parse(
    (await call(k.baseUrl, '/api/auth/token?ttl=1', basic(key))).text,
  ) as string;
  expect((await call(k.baseUrl, '/api/auth/whoami', bearer(token))).text).toBe('user:dora');

  await k.container.accounts.setDisabled('dora', true);
  for (const creds of [basic(key), bearer(key), bearer(token)]) {
    const r = await call(k.baseUrl, '/api/auth/whoami', creds);
    expect(r.status).toBe(401);
    expect(r.json().message).toMatch(/disabled account/);
  }
  await k.container.accounts.setDisabled('dora', false);
  expect((await call(k.baseUrl, '/api/auth/whoami', basic(key))).status).toBe(200);
});

test('enforce-mfa: credentials of members without a second factor are flagged and suspended until they enrol', async () => {
  await createUser(k, 'eve', { org: 'acme' });
  await createUser(k, 'otto', { org: 'other' });
  const eve = await signedInBrowser(k.baseUrl, 'eve', PASSWORD);
  const otto = await signedInBrowser(k.baseUrl, 'otto', PASSWORD);
  const eveKey = (await createKey(eve, k.baseUrl, { title: 'eve-key' })).key;
  const ottoKey = (await createKey(otto, k.baseUrl, { title: 'otto-key' })).key;

  // Only platform admins may turn it on; then the policy effect runs.
  expect((await org('enforce-mfa', true)).status).toBe(403);
  expect((await setPolicy(root, '/api/organizations/acme/policies/enforce-mfa', true)).status).toBe(
    200,
  );
  try {
    const refused = await call(k.baseUrl, '/api/auth/whoami', basic(eveKey));
    expect(refused.status).toBe(401);
    expect(refused.json().message).toMatch(
      /suspended: your organization requires two-step verification/,
    );
    expect((await call(k.baseUrl, '/api/auth/whoami', basic(ottoKey))).status).toBe(200); // another organization
    const doc = await k.db.collection('personal_credentials').findOne({ name: 'eve-key' });
    expect(doc).toMatchObject({ suspended: true, flagReason: 'enforce-mfa' });
    expect(
      await k.db
        .collection('audit_events')
        .countDocuments({ type: 'apikey.flagged', accountId: doc!.ownerId }),
    ).toBe(1);

    // Eve enrols an authenticator app: the key works again.
    const account = (await k.container.accounts.findByLogin('eve'))!;
    const { secret } = await k.container.mfa.mfa.startOtpSetup(account);
    await k.container.mfa.mfa.confirmOtpSetup(
      account,
      await generate({ secret, algorithm: 'sha1', digits: 6, period: 30 }),
      {},
    );
    expect((await call(k.baseUrl, '/api/auth/whoami', basic(eveKey))).text).toBe('user:eve');
    expect(
      await k.db.collection('personal_credentials').findOne({ name: 'eve-key' }),
    ).toMatchObject({ suspended: false });
  } finally {
    await setPolicy(root, '/api/organizations/acme/policies/enforce-mfa', undefined);
  }
});
