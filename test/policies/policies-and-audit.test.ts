/** Org/platform policies (three states, platform wins), admin rights, audit events, the account area. */
import { z } from 'zod';
import { Browser, signedInBrowser } from '../helpers/browserless.ts';
import { createUser, PASSWORD, startKeyward, type Keyward } from '../helpers/keyward.ts';

let k: Keyward;
let admin: Browser;
let member: Browser;
let platform: Browser;
let outsider: Browser;

beforeAll(async () => {
  k = await startKeyward();
  k.container.policies.register({
    name: 'test-flag',
    description: 'A boolean for tests.',
    schema: z.boolean(),
    defaultValue: false,
  });
  k.container.policies.register({
    name: 'test-level',
    description: 'One of hardware or fips.',
    schema: z.enum(['hardware', 'fips']),
  });
  await createUser(k, 'olga', { org: 'acme', admin: true });
  await createUser(k, 'mike', { org: 'acme' });
  await createUser(k, 'otto', { org: 'other', admin: true });
  const root = await createUser(k, 'root');
  await k.db
    .collection('accounts')
    .updateOne({ _id: root.id as never }, { $set: { platformAdmin: true } });
  [admin, member, platform, outsider] = await Promise.all(
    ['olga', 'mike', 'root', 'otto'].map((u) => signedInBrowser(k.baseUrl, u, PASSWORD)),
  );
});
afterAll(async () => k?.stop());

const json = { accept: 'application/json' };
const call = async (b: Browser, method: string, path: string, body?: unknown) => {
  const res = await b.fetch(`${k.baseUrl}${path}`, {
    method,
    headers: { ...json, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (res.status === 204 ? null : await res.json()) as any }; // eslint-disable-line @typescript-eslint/no-explicit-any
};

test('Not set inherits the platform default; an org value applies; a platform value wins', async () => {
  expect((await call(admin, 'GET', '/api/organizations/acme/policies')).body['test-flag']).toEqual({
    name: 'test-flag',
    level: 'default',
    value: false,
  });
  expect(
    (await call(admin, 'GET', '/api/organizations/acme/policies')).body['test-level'],
  ).toBeUndefined();

  const set = await call(admin, 'POST', '/api/organizations/acme/policies/test-flag', true);
  expect(set.status).toBe(200);
  expect(set.body['test-flag']).toMatchObject({
    name: 'test-flag',
    level: 'organization',
    value: true,
  });
  expect(
    await k.container.policies.effective(
      'test-flag',
      (await k.container.organizations.findByName('acme'))!.id,
    ),
  ).toBe(true);

  expect((await call(platform, 'POST', '/api/platform/policies/test-flag', false)).status).toBe(
    200,
  );
  expect(
    (await call(admin, 'GET', '/api/organizations/acme/policies')).body['test-flag'],
  ).toMatchObject({ level: 'platform', value: false });

  expect((await call(platform, 'DELETE', '/api/platform/policies/test-flag')).status).toBe(204);
  expect(
    (await call(admin, 'GET', '/api/organizations/acme/policies')).body['test-flag'],
  ).toMatchObject({ level: 'organization', value: true });
  expect((await call(admin, 'DELETE', '/api/organizations/acme/policies/test-flag')).status).toBe(
    204,
  );
  expect(
    (await call(admin, 'GET', '/api/organizations/acme/policies')).body['test-flag'],
  ).toMatchObject({ level: 'default', value: false });
});

test('bad values and unknown policies are 4xx with a message', async () => {
  const bad = await call(admin, 'POST', '/api/organizations/acme/policies/test-level', 'software');
  expect(bad.status).toBe(400);
  expect(bad.body.message).toMatch(/Invalid value for policy "test-level"/);
  const unknown = await call(
    admin,
    'POST',
    '/api/organizations/acme/policies/no-such-policy',
    true,
  );
  expect(unknown.status).toBe(404);
  expect(unknown.body.message).toMatch(/Unknown policy "no-such-policy"/);
});

test('only admins: members 403, other orgs 404, anonymous 401, platform routes for platform admins', async () => {
  expect(
    (await call(member, 'POST', '/api/organizations/acme/policies/test-flag', true)).status,
  ).toBe(403);
  expect((await call(member, 'GET', '/api/organizations/acme/policies')).status).toBe(403);
  expect((await call(outsider, 'GET', '/api/organizations/acme/policies')).status).toBe(404);
  expect((await call(new Browser(), 'GET', '/api/organizations/acme/policies')).status).toBe(401);
  expect((await call(admin, 'POST', '/api/platform/policies/test-flag', true)).body).toMatchObject({
    code: 'forbidden',
    message: 'This is a platform-admin only route.',
  });
  expect((await call(platform, 'GET', '/api/organizations/acme/policies')).status).toBe(200);
});

test('policy changes are audited; users see their events, org admins their org', async () => {
  await call(admin, 'POST', '/api/organizations/acme/policies/test-flag', true);
  const mine = await call(admin, 'GET', '/api/account/events');
  expect(mine.status).toBe(200);
  expect(mine.body).toEqual(
    expect.arrayContaining([
      expect.objectContaining({
        type: 'policy.set',
        outcome: 'success',
        details: expect.objectContaining({ policy: 'test-flag', organization: 'acme' }),
      }),
    ]),
  );
  const org = await call(admin, 'GET', '/api/organizations/acme/events');
  expect(org.body.length).toBeGreaterThan(0);
  expect((await call(member, 'GET', '/api/organizations/acme/events')).status).toBe(403);
  expect((await call(member, 'GET', '/api/account/events')).body).toEqual([]);
});

test('the account area needs a session and shows the user', async () => {
  const anon = await new Browser().fetch(`${k.baseUrl}/account`);
  expect(anon.status).toBe(302);
  expect(anon.headers.get('location')).toBe('/signin?next=%2Faccount');
  const page = await admin.fetch(`${k.baseUrl}/account`);
  const html = await page.text();
  expect(page.status).toBe(200);
  expect(html).toContain('olga@example.com');
  expect(html).toContain('acme (admin)');
  const events = await (await admin.fetch(`${k.baseUrl}/account/security-events`)).text();
  expect(events).toContain('policy.set');
});
