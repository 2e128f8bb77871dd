/**
 * Organization sign-in against a real OpenLDAP directory (Debian slapd, started by the test):
 * good and bad passwords, a user missing from the directory, ldaps:// and StartTLS with the
 * directory's CA, the connection tests, and the same throttling as local passwords.
 */
import { createHash, randomBytes } from 'node:crypto';
import { decodeJwt } from 'jose';
import { Browser, formAction, formField, signedInBrowser } from '../helpers/browserless.ts';
import { createUser, PASSWORD, startKeyward, type Keyward } from '../helpers/keyward.ts';
import { RP_CALLBACK, testClients, WEB_SECRET } from '../helpers/clients.ts';
import { atOnce } from '../helpers/at-once.ts';
import { clientIp } from '../helpers/client-ip.ts';
import { BASE_DN, SERVICE_DN, SERVICE_PASSWORD, startSlapd, type Slapd } from './slapd.ts';

let k: Keyward;
let dir: Slapd;
let root: Browser;
let admin: Browser;
const ip = clientIp;

const json = (b: Browser, method: string, path: string, body?: unknown) =>
  b.fetch(`${k.baseUrl}${path}`, {
    method,
    headers: {
      accept: 'application/json',
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
const settings = (over: Record<string, unknown> = {}) => ({
  url: dir.ldapsUrl,
  caCertificate: dir.caCertificate,
  bindDN: SERVICE_DN,
  bindPassword: SERVICE_PASSWORD,
  baseDN: BASE_DN,
  allowNewUserCreation: true,
  allowPrivateAddress: true,
  ...over,
});

beforeAll(async () => {
  dir = await startSlapd([
    { uid: 'lia', password: 'lia-directory-pw', mail: 'lia@dir.test', cn: 'Lia Lee' },
    { uid: 'moe', password: 'moe-directory-pw', mail: 'moe@dir.test', cn: 'Moe Ma' },
    { uid: 'ned', password: 'ned-directory-pw', mail: 'ned@dir.test', cn: 'Ned No' },
  ]);
  k = await startKeyward({
    clients: testClients,
    trustProxy: true,
    throttle: {
      account: {
        freeAttempts: 3,
        baseDelaySeconds: 60,
        maxDelaySeconds: 120,
        maxConsecutiveFailures: 6,
        lockSeconds: 3600,
        resetAfterSeconds: 86400,
      },
      ip: {
        freeAttempts: 50,
        baseDelaySeconds: 60,
        maxDelaySeconds: 600,
        maxConsecutiveFailures: 1000,
        lockSeconds: 3600,
        resetAfterSeconds: 3600,
      },
    },
  });
  await k.container.accounts.register({
    username: 'root',
    email: 'root@example.com',
    password: PASSWORD,
    displayName: 'Root',
    platformAdmin: true,
  });
  await createUser(k, 'dir-admin', { org: 'dir', admin: true });
  root = await signedInBrowser(k.baseUrl, 'root', PASSWORD);
  admin = await signedInBrowser(k.baseUrl, 'dir-admin', PASSWORD);
  const made = await json(root, 'POST', '/api/organizations/dir/auth-methods/ldap', {
    name: 'corp-ldap',
    displayName: 'Corp directory',
    ...settings(),
  });
  expect(made.status).toBe(200);
  expect(
    (
      await json(root, 'POST', '/api/organizations/dir/auth-methods/ldap', {
        name: 'corp-starttls',
        ...settings({ url: dir.ldapUrl, startTLS: true }),
      })
    ).status,
  ).toBe(200);
});
afterAll(async () => {
  await k?.stop();
  await dir?.stop();
});

/** Keyward's sign-in for test-web up to the methods page of `identifier`. */
async function methodsPage(identifier: string, fromIp = ip()) {
  const browser = new Browser();
  const verifier = randomBytes(32).toString('base64url');
  const url = new URL(`${k.issuer}/authorize`);
  url.search = new URLSearchParams({
    client_id: 'test-web',
    response_type: 'code',
    scope: 'openid profile',
    redirect_uri: RP_CALLBACK,
    state: 's',
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
  }).toString();
  const headers = { 'x-forwarded-for': fromIp };
  const { res, url: pageUrl } = await browser.follow(url.toString(), undefined, { headers });
  const html = await res.text();
  const chosen = await browser.fetch(new URL(formAction(html, '/login'), pageUrl).toString(), {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      _csrf: formField(html, '_csrf'),
      username: identifier,
      password: '',
    }),
  });
  const page = await chosen.text();
  const submit = async (method: string, username: string, password: string) => {
    const action = new RegExp(`action="([^"]+)" class="stack" data-method="${method}"`).exec(
      page,
    )![1];
    const r = await browser.fetch(new URL(action, pageUrl).toString(), {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ _csrf: formField(page, '_csrf'), username, password }),
    });
    return {
      status: r.status,
      html: r.status === 303 ? '' : await r.text(),
      location: r.headers.get('location'),
      headers: r.headers,
    };
  };
  const finish = async (location: string) => {
    const done = await browser.follow(new URL(location, pageUrl).toString(), (u) =>
      u.startsWith(RP_CALLBACK),
    );
    const code = new URL(done.url).searchParams.get('code')!;
    const t = await fetch(`${k.issuer}/token`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`test-web:${WEB_SECRET}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code,
        redirect_uri: RP_CALLBACK,
        code_verifier: verifier,
      }),
    });
    return decodeJwt(((await t.json()) as { id_token: string }).id_token);
  };
  return { page, submit, finish };
}

test('the directory password signs in over ldaps:// (a new member at first), amr pwd', async () => {
  const s = await methodsPage('dir');
  expect(s.page).toContain('Sign in with Corp directory');
  const r = await s.submit('corp-ldap', 'lia', 'lia-directory-pw');
  expect(r.status).toBe(303);
  const idToken = await s.finish(r.location!);
  const lia = (await k.container.accounts.findByLogin('lia'))!;
  expect(idToken.sub).toBe(lia.id);
  expect(idToken.amr).toEqual(['pwd']);
  expect(lia).toMatchObject({ email: 'lia@dir.test', displayName: 'Lia Lee' });
  const link = await k.db.collection('external_identities').findOne({ accountId: lia.id });
  expect(link?.externalId).toMatch(/^[0-9a-f-]{36}$/); // the directory's entryUUID, not the username
});

test('StartTLS works the same', async () => {
  const s = await methodsPage('dir');
  const r = await s.submit('corp-starttls', 'moe', 'moe-directory-pw');
  expect(r.status).toBe(303);
  expect((await s.finish(r.location!)).sub).toBe(
    (await k.container.accounts.findByLogin('moe'))!.id,
  );
});

test('a wrong password and a user missing from the directory get the same answer', async () => {
  const wrong = await (await methodsPage('dir')).submit('corp-ldap', 'ned', 'not the password');
  const missing = await (
    await methodsPage('dir')
  ).submit('corp-ldap', 'nobody', 'not the password');
  expect(wrong.status).toBe(401);
  expect(missing.status).toBe(401);
  expect(wrong.html).toContain('Invalid username or password.');
  expect(missing.html).toContain('Invalid username or password.');
  expect(await k.container.accounts.findByLogin('ned')).toBeUndefined();
  expect(await k.container.accounts.findByLogin('nobody')).toBeUndefined();
});

test('LDAP passwords share the local password throttle: 8 guesses at once, then the local password waits too', async () => {
  const results = await atOnce(8, async () =>
    (await methodsPage('lia')).submit(
      'corp-ldap',
      'lia',
      `guess ${randomBytes(4).toString('hex')}`,
    ),
  );
  const statuses = results.map((r) => r.status).sort();
  expect(statuses.filter((s) => s === 401).length).toBeLessThanOrEqual(3);
  expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(5);
  expect(results.find((r) => r.status === 429)!.headers.get('retry-after')).toMatch(/^\d+$/);
  // Even the right directory password waits now, and so does the account's local password.
  expect(
    (await (await methodsPage('lia')).submit('corp-ldap', 'lia', 'lia-directory-pw')).status,
  ).toBe(429);
  await expect(
    k.container.accounts.authenticate('lia', 'whatever', { ip: ip() }),
  ).rejects.toMatchObject({ code: 'rate_limited' });
});

test('REST: the connection is verified before saving; tests; the bind password is write-only', async () => {
  const bad = await json(root, 'POST', '/api/organizations/dir/auth-methods/ldap', {
    name: 'bad',
    ...settings({ bindPassword: 'wrong' }),
  });
  expect(bad.status).toBe(400);
  expect(await bad.text()).toContain('refused the service account');
  const untrusted = await json(
    root,
    'POST',
    '/api/organizations/dir/auth-methods/ldap/test',
    settings({ caCertificate: undefined }),
  );
  expect(untrusted.status).toBe(400);
  expect(await untrusted.text()).toContain('TLS certificate');
  expect(
    (
      await json(root, 'POST', '/api/organizations/dir/auth-methods/ldap/test', {
        ...settings(),
        username: 'moe',
        password: 'moe-directory-pw',
      })
    ).status,
  ).toBe(204);
  expect(
    (
      await json(admin, 'POST', '/api/organizations/dir/auth-methods/ldap/corp-ldap/test', {
        username: 'moe',
        password: 'nope',
      })
    ).status,
  ).toBe(400);
  expect(
    (await json(admin, 'POST', '/api/organizations/dir/auth-methods/ldap/corp-ldap/test', {}))
      .status,
  ).toBe(204);
  const got = await json(admin, 'GET', '/api/organizations/dir/auth-methods/ldap/corp-ldap');
  const text = await got.text();
  expect(text).not.toContain(SERVICE_PASSWORD);
  expect(JSON.parse(text)).toMatchObject({ name: 'corp-ldap', type: 'ldap', bindDN: SERVICE_DN });
  expect(JSON.stringify(await k.db.collection('sign_in_methods').find().toArray())).not.toContain(
    SERVICE_PASSWORD,
  );
  // A blank bind password keeps the stored one (the PATCH re-verifies the connection with it).
  expect(
    (
      await json(admin, 'PATCH', '/api/organizations/dir/auth-methods/ldap/corp-ldap', {
        displayName: 'Corporate directory',
        bindPassword: '',
      })
    ).status,
  ).toBe(200);
  // An org admin may not point a method at a private address.
  const own = await json(admin, 'POST', '/api/organizations/dir/auth-methods/ldap', {
    name: 'own',
    ...settings({ allowPrivateAddress: undefined }),
  });
  expect(own.status).toBe(400);
  expect(await own.text()).toContain('private or local address');
});
