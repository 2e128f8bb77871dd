/**
 * Secrets shown once, for real (issue 14 item 4): the account forms post, redirect (303) and show
 * the new API key, CLI token or recovery codes on the next page only. A refresh, a second request
 * with the same cookie, eight at once, or the cookie carried into another session: nothing.
 * Also: the form kit's rules in one place (CSRF, sudo redirect, re-render on a 4xx).
 */
import { Browser, formField, signedInBrowser } from '../helpers/browserless.ts';
import { atOnce } from '../helpers/at-once.ts';
import { createUser, PASSWORD, startKeyward, type Keyward } from '../helpers/keyward.ts';
import { basic, call, KEY_PATTERN, TOKEN_PATTERN } from '../helpers/api-keys.ts';

let k: Keyward;
let alice: Browser;

beforeAll(async () => {
  k = await startKeyward();
  await createUser(k, 'alice', { org: 'acme' });
  await createUser(k, 'bob', { org: 'acme' });
  alice = await signedInBrowser(k.baseUrl, 'alice', PASSWORD);
});
afterAll(() => k?.stop());

const csrfOf = async (b: Browser) =>
  formField(await (await b.fetch(`${k.baseUrl}/account/api-keys?new=key`)).text(), '_csrf');
const secretIn = (html: string) => /<code id="new-secret">([^<]+)<\/code>/.exec(html)?.[1];
const keyNames = async () =>
  (
    JSON.parse(
      await (
        await alice.fetch(`${k.baseUrl}/api/apikeys`, { headers: { accept: 'application/json' } })
      ).text(),
    ) as { title: string }[]
  ).map((r) => r.title);

test('Add Key: post, redirect, the key shown on the next page once; a refresh shows it no more and creates nothing', async () => {
  const csrf = await csrfOf(alice);
  const posted = await alice.postForm(`${k.baseUrl}/account/api-keys`, {
    _csrf: csrf,
    title: '',
    expiration: '30',
  });
  expect({ status: posted.status, location: posted.headers.get('location') }).toEqual({
    status: 303,
    location: '/account/api-keys',
  });
  expect(await posted.text()).not.toMatch(KEY_PATTERN);
  const before = (await keyNames()).length;

  const first = await (await alice.fetch(`${k.baseUrl}/account/api-keys`)).text();
  const key = secretIn(first);
  expect(key).toMatch(KEY_PATTERN);
  expect(first).toContain(
    "Once you refresh or navigate away from this page, you won't be able to see the key again.",
  );
  expect((await call(k.baseUrl, '/api/auth/whoami', basic(key!))).text).toBe('user:alice');

  const refreshed = await (await alice.fetch(`${k.baseUrl}/account/api-keys`)).text();
  expect(secretIn(refreshed)).toBeUndefined();
  expect(refreshed).not.toContain(key!.split('.')[1]);
  expect((await keyNames()).length).toBe(before); // the refresh was a GET: no second key
});

test('Generate Token → Add Token: the CLI token the same way', async () => {
  const posted = await alice.postForm(`${k.baseUrl}/account/api-keys/tokens`, {
    _csrf: await csrfOf(alice),
    ttl: '2',
  });
  expect(posted.status).toBe(303);
  expect(secretIn(await (await alice.fetch(`${k.baseUrl}/account/api-keys`)).text())).toMatch(
    TOKEN_PATTERN,
  );
  expect(
    secretIn(await (await alice.fetch(`${k.baseUrl}/account/api-keys`)).text()),
  ).toBeUndefined();
});

test('the same one-time cookie sent 8 times at once shows the secret on exactly one page', async () => {
  const posted = await alice.postForm(`${k.baseUrl}/account/api-keys`, {
    _csrf: await csrfOf(alice),
    title: 'raced',
  });
  expect(posted.status).toBe(303);
  const cookie = [...alice.cookies].map(([n, v]) => `${n}=${v}`).join('; ');
  expect(cookie).toContain('kw.once=');
  const pages = await atOnce(8, async () =>
    (
      await fetch(`${k.baseUrl}/account/api-keys`, {
        headers: { cookie, accept: 'text/html' },
        redirect: 'manual',
      })
    ).text(),
  );
  expect(pages.map(secretIn).filter(Boolean)).toHaveLength(1);
});

test('the one-time cookie is bound to its session: carried into another session it shows nothing', async () => {
  const posted = await alice.postForm(`${k.baseUrl}/account/api-keys`, {
    _csrf: await csrfOf(alice),
    title: 'stolen-cookie',
  });
  expect(posted.status).toBe(303);
  const bob = await signedInBrowser(k.baseUrl, 'bob', PASSWORD);
  bob.cookies.set('kw.once', alice.cookies.get('kw.once')!);
  const html = await (await bob.fetch(`${k.baseUrl}/account/api-keys`)).text();
  expect(secretIn(html)).toBeUndefined();
  alice.cookies.delete('kw.once');
});

test('form rules in one layer: a forged CSRF token is refused, a duplicate name re-renders with the name kept', async () => {
  expect(
    (await alice.postForm(`${k.baseUrl}/account/api-keys`, { _csrf: 'forged', title: 'x' })).status,
  ).toBe(403);
  const csrf = await csrfOf(alice);
  expect(
    (await alice.postForm(`${k.baseUrl}/account/api-keys`, { _csrf: csrf, title: 'twice' })).status,
  ).toBe(303);
  await alice.fetch(`${k.baseUrl}/account/api-keys`); // the one-time page
  const again = await alice.postForm(`${k.baseUrl}/account/api-keys`, {
    _csrf: csrf,
    title: 'twice',
  });
  expect(again.status).toBe(409);
  const html = await again.text();
  expect(html).toContain('already have an API key or token named &quot;twice&quot;');
  expect(html).toMatch(/id="key-name"[^>]*value="twice"/);
});

test('an SSH key refused at the Key field: the pasted public key is kept and the error shown at the field', async () => {
  const page = await (await alice.fetch(`${k.baseUrl}/account/ssh-keys`)).text();
  const res = await alice.postForm(`${k.baseUrl}/account/ssh-keys`, {
    _csrf: formField(page, '_csrf'),
    title: 'typo',
    key: 'ssh-ed25519 AAAAnotbase64!! me@laptop',
  });
  expect(res.status).toBe(400);
  const html = await res.text();
  expect(html).toMatch(
    /<textarea id="key"[^>]*aria-invalid="true"[^>]*>ssh-ed25519 AAAAnotbase64!! me@laptop<\/textarea>\s*<p class="field-error" id="key-error" role="alert">/,
  );
  expect(html).not.toContain('<div class="alert" role="alert">');
});
