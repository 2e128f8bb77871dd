/**
 * The organization admin page's sign-in method forms (issue 15), over real HTTP with the real
 * pages: an OIDC method added on the page against a real upstream IdP (upstream-idp.ts) and signed
 * in through; an edit with a blank secret keeps the stored one; a bad field comes back at its field
 * with what was typed (never the secret); delete removes the links; members who are not admins
 * and sessions not in sudo mode are turned away.
 */
import { Browser, formField, signedInBrowser } from '../helpers/browserless.ts';
import { createUser, freePort, PASSWORD, startKeyward, type Keyward } from '../helpers/keyward.ts';
import { atOnce } from '../helpers/at-once.ts';
import { signInUpstream, startUpstream, type Upstream } from './upstream.ts';

let k: Keyward;
let up: Upstream;
let root: Browser;
let admin: Browser;
let member: Browser;
const SECRET = 'upstream-client-secret-0123456789abcdef';
const PAGE = '/account/admin/sign-in-methods';
const accounts = {
  alice: {
    password: 'alice-pw',
    sub: 'acme-alice',
    claims: { email: 'alice@acme.test', username: 'alice', name: 'Alice Acme' },
  },
  bob: { password: 'bob-pw', sub: 'acme-bob', claims: { email: 'bob@acme.test', username: 'bob' } },
};

beforeAll(async () => {
  const port = await freePort();
  up = await startUpstream(
    [
      {
        client_id: 'kw-basic',
        client_secret: SECRET,
        redirect_uris: [`http://127.0.0.1:${port}/api/auth/sso/oidc/callback`],
        grant_types: ['authorization_code'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
        id_token_signed_response_alg: 'ES256',
      },
    ],
    accounts,
  );
  k = await startKeyward({ port });
  const rootAccount = await k.container.accounts.register({
    username: 'root',
    email: 'root@example.com',
    password: PASSWORD,
    displayName: 'Root',
    platformAdmin: true,
  });
  await createUser(k, 'acme-admin', { org: 'acme', admin: true });
  await createUser(k, 'bobby', { org: 'acme' });
  await k.container.organizations.addMember(
    (await k.container.organizations.findByName('acme'))!.id,
    rootAccount.id,
    { admin: true },
  );
  [root, admin, member] = await Promise.all(
    ['root', 'acme-admin', 'bobby'].map((u) => signedInBrowser(k.baseUrl, u, PASSWORD)),
  );
});
afterAll(async () => {
  await k?.stop();
  await up?.stop();
});

const get = async (b: Browser, path: string) => {
  const res = await b.fetch(`${k.baseUrl}${path}`);
  return { status: res.status, html: await res.text(), location: res.headers.get('location') };
};
/** Posts a form the way the page does: the CSRF token of `from`, then the fields. */
async function post(b: Browser, from: string, path: string, fields: Record<string, string>) {
  const page = await get(b, from);
  const res = await b.postForm(`${k.baseUrl}${path}`, {
    _csrf: formField(page.html, '_csrf'),
    ...fields,
  });
  return {
    status: res.status,
    location: res.headers.get('location'),
    html: res.status === 303 ? '' : await res.text(),
  };
}
/** Everything the OIDC form posts, as a browser sends it (blank fields included). */
const oidcForm = (over: Record<string, string> = {}) => ({
  name: 'acme-sso',
  displayName: 'Acme SSO',
  issuer: up.issuer,
  discoverEndpoints: 'on',
  clientId: 'kw-basic',
  tokenEndpointAuthMethod: 'client_secret_basic',
  clientSecret: SECRET,
  privateKeyPEM: '',
  scopes: 'openid email profile',
  allowNewUserCreation: 'on',
  authorizationEndpoint: '',
  tokenEndpoint: '',
  jwksUri: '',
  userinfoEndpoint: '',
  endSessionEndpoint: '',
  usernameClaim: '',
  emailClaim: '',
  externalIdClaim: '',
  uidClaim: '',
  sectorIdentifierHostnames: '',
  ...over,
});
/** A platform admin's form also has "Allow private and local network addresses" (the upstream IdP runs on 127.0.0.1). */
const PRIVATE = { allowPrivateAddress: 'on', allowPrivateAddressShown: '1' };
const stored = (name: string) => k.db.collection('sign_in_methods').findOne({ name });
const fieldError = (html: string, field: string) =>
  new RegExp(`id="${field}-error" role="alert">([^<]*)<`).exec(html)?.[1];

/** Keyward's own sign-in → the organization's methods → the upstream IdP → back, signed in. */
async function signInThrough(method: string, user: keyof typeof accounts) {
  const b = new Browser();
  const { res, url } = await b.follow(`${k.baseUrl}/signin`);
  const atCallback = (u: string) => u.startsWith(`${k.baseUrl}/signin/callback`);
  return signInUpstream(
    b,
    { url, html: await res.text() },
    'acme',
    method,
    { username: user, password: accounts[user].password },
    atCallback,
  );
}

test('an admin adds an OIDC method on the page, and members sign in through it', async () => {
  expect((await get(root, `${PAGE}/acme/new`)).html).toContain(`href="${PAGE}/acme/new/oidc"`);
  const form = await get(root, `${PAGE}/acme/new/oidc`);
  expect(form.status).toBe(200);
  expect(form.html).toContain('Allow private and local network addresses'); // a platform admin's form
  expect(form.html).toMatch(
    /id="discoverEndpoints" name="discoverEndpoints" type="checkbox" checked/,
  );
  const made = await post(
    root,
    `${PAGE}/acme/new/oidc`,
    `${PAGE}/acme/new/oidc`,
    oidcForm(PRIVATE),
  );
  expect(made).toMatchObject({ status: 303, location: `${PAGE}?org=acme&done=created` });
  const list = await get(root, made.location!);
  expect(list.html).toContain('Sign-in method added.');
  expect(list.html).toContain('<code>acme-sso</code>');
  expect(list.html).not.toContain(SECRET);
  const doc = await stored('acme-sso');
  expect(doc?.settings).toMatchObject({
    issuer: up.issuer,
    clientId: 'kw-basic',
    allowNewUserCreation: true,
    skipMfaVerification: false,
    allowPrivateAddress: true,
  });
  expect(JSON.stringify(doc)).not.toContain(SECRET); // sealed, as the REST API seals it
  const event = await k.db
    .collection('audit_events')
    .findOne({ type: 'sign_in_method.created', 'details.method': 'acme-sso' });
  expect(event?.details).toMatchObject({ organization: 'acme', methodType: 'oidc' });

  const hop = await signInThrough('acme-sso', 'alice');
  expect(hop.url).toMatch(/\/signin\/callback\?/);
  const alice = (await k.container.accounts.findByLogin('alice'))!;
  expect(alice.email).toBe('alice@acme.test');
});

test('an edit shows no secret; a blank secret keeps the stored one and sign-in still works', async () => {
  const before = await stored('acme-sso');
  const edit = await get(admin, `${PAGE}/acme/methods/acme-sso`);
  expect(edit.status).toBe(200);
  expect(edit.html).not.toContain(SECRET);
  expect(edit.html).toMatch(/id="clientSecret" name="clientSecret" type="password" value=""/);
  expect(edit.html).toContain('Leave blank to keep it');
  expect(edit.html).toContain(`value="${up.issuer}"`);
  expect(edit.html).not.toContain('Allow private and local network addresses'); // not a platform admin
  const { name: _n, ...fields } = oidcForm({
    clientSecret: '',
    displayName: 'Acme Single Sign-On',
  });
  const saved = await post(
    admin,
    `${PAGE}/acme/methods/acme-sso`,
    `${PAGE}/acme/methods/acme-sso`,
    fields,
  );
  expect(saved).toMatchObject({ status: 303, location: `${PAGE}?org=acme&done=updated` });
  const after = await stored('acme-sso');
  expect(after?.displayName).toBe('Acme Single Sign-On');
  expect(after?.sealed.clientSecret).toEqual(before?.sealed.clientSecret);
  expect(after?.settings.allowPrivateAddress).toBe(true); // set by the platform admin, untouched by the org admin's form
  expect((await signInThrough('acme-sso', 'bob')).url).toMatch(/\/signin\/callback\?/);
});

test('a bad field comes back at its field, with what was typed kept and the secret not', async () => {
  const bad = await post(
    admin,
    `${PAGE}/acme/new/oidc`,
    `${PAGE}/acme/new/oidc`,
    oidcForm({ name: 'other', issuer: 'ftp://idp.example.com', clientId: 'typed-client' }),
  );
  expect(bad.status).toBe(400);
  expect(fieldError(bad.html, 'issuer')).toBe('Issuer URL must be an http(s) URL.');
  expect(bad.html).toContain('aria-invalid="true"');
  expect(bad.html).toContain('value="typed-client"');
  expect(bad.html).toContain('value="ftp://idp.example.com"');
  expect(bad.html).not.toContain(SECRET);

  const blank = await post(
    admin,
    `${PAGE}/acme/new/oidc`,
    `${PAGE}/acme/new/oidc`,
    oidcForm({ name: 'other', clientId: '' }),
  );
  expect(fieldError(blank.html, 'clientId')).toBe('Client ID is required.');
  // The service's own rules, in the form's words, at their field.
  const noKey = await post(
    admin,
    `${PAGE}/acme/new/oidc`,
    `${PAGE}/acme/new/oidc`,
    oidcForm({ name: 'other', tokenEndpointAuthMethod: 'private_key_jwt', clientSecret: '' }),
  );
  expect(fieldError(noKey.html, 'privateKeyPEM')).toBe(
    'Private key (PEM) is required for client authentication private_key_jwt.',
  );
  const taken = await post(admin, `${PAGE}/acme/new/oidc`, `${PAGE}/acme/new/oidc`, oidcForm());
  expect(taken.status).toBe(409);
  expect(fieldError(taken.html, 'name')).toMatch(/already exists/);
  // An organization admin cannot turn on private addresses, even by posting the field.
  const forged = await post(
    admin,
    `${PAGE}/acme/new/oidc`,
    `${PAGE}/acme/new/oidc`,
    oidcForm({ name: 'forged', ...PRIVATE }),
  );
  expect(forged.status).toBe(403);
  expect(forged.html).toContain(
    'Only platform admins can change allow private and local network addresses.',
  );
  expect(await stored('other')).toBeNull();
  expect(await stored('forged')).toBeNull();
});

test('a member who is not an admin cannot open or post the forms', async () => {
  expect((await get(member, `${PAGE}/acme/new/oidc`)).status).toBe(403);
  expect((await get(member, `${PAGE}/acme/methods/acme-sso`)).status).toBe(403);
  const posted = await post(
    member,
    '/account/ssh-keys',
    `${PAGE}/acme/new/oidc`,
    oidcForm({ name: 'by-member' }),
  );
  expect(posted.status).toBe(403);
  const deleted = await post(
    member,
    '/account/ssh-keys',
    `${PAGE}/acme/methods/acme-sso/delete`,
    {},
  );
  expect(deleted.status).toBe(403);
  expect(await stored('by-member')).toBeNull();
  expect(await stored('acme-sso')).not.toBeNull();
  // Signed out: to sign in and back.
  const anonymous = await new Browser().fetch(`${k.baseUrl}${PAGE}/acme/new/oidc`);
  expect(anonymous.status).toBe(302);
  expect(anonymous.headers.get('location')).toMatch(/^\/signin\?next=/);
});

test('adding, changing and deleting a method need sudo mode', async () => {
  const page = await get(admin, `${PAGE}/acme/new/oidc`);
  const csrf = formField(page.html, '_csrf');
  const editPage = await get(admin, `${PAGE}/acme/methods/acme-sso`);
  k.clock.offsetMs = 11 * 60_000; // the admin's sign-in is older than the sudo window now
  try {
    const fields = oidcForm({ name: 'late' });
    const add = await admin.postForm(`${k.baseUrl}${PAGE}/acme/new/oidc`, {
      _csrf: csrf,
      ...fields,
    });
    expect(add.status).toBe(302);
    expect(add.headers.get('location')).toBe(
      `/account/verify?next=${encodeURIComponent(`${PAGE}/acme/new/oidc`)}`,
    );
    const change = await admin.postForm(`${k.baseUrl}${PAGE}/acme/methods/acme-sso`, {
      _csrf: formField(editPage.html, '_csrf'),
      displayName: 'Hijacked',
    });
    expect(change.headers.get('location')).toMatch(/^\/account\/verify\?next=/);
    const del = await admin.postForm(`${k.baseUrl}${PAGE}/acme/methods/acme-sso/delete`, {
      _csrf: csrf,
    });
    expect(del.headers.get('location')).toBe(
      `/account/verify?next=${encodeURIComponent(`${PAGE}?org=acme`)}`,
    );
    expect(await stored('late')).toBeNull();
    expect((await stored('acme-sso'))?.displayName).toBe('Acme Single Sign-On');
  } finally {
    k.clock.offsetMs = 0;
  }
  const noCsrf = await admin.postForm(
    `${k.baseUrl}${PAGE}/acme/new/oidc`,
    oidcForm({ name: 'no-csrf' }),
  );
  expect(noCsrf.status).toBe(403);
});

test('the same method added 8 times at once is created once; the others are told at the name field', async () => {
  const page = await get(root, `${PAGE}/acme/new/oidc`);
  const csrf = formField(page.html, '_csrf');
  const answers = await atOnce(8, () =>
    root.postForm(`${k.baseUrl}${PAGE}/acme/new/oidc`, {
      _csrf: csrf,
      ...oidcForm({ name: 'raced', ...PRIVATE }),
    }),
  );
  expect(answers.map((r) => r.status).sort()).toEqual([303, 409, 409, 409, 409, 409, 409, 409]);
  expect(await k.db.collection('sign_in_methods').countDocuments({ name: 'raced' })).toBe(1);
});

test('delete says whose linked identities go, and removes them with the method', async () => {
  const list = await get(admin, `${PAGE}?org=acme`);
  expect(list.html).toContain('The linked identities of 2 members are removed too.');
  const methodId = (await stored('acme-sso'))!._id;
  expect(await k.db.collection('external_identities').countDocuments({ methodId })).toBe(2);
  const deleted = await post(admin, `${PAGE}?org=acme`, `${PAGE}/acme/methods/acme-sso/delete`, {});
  expect(deleted).toMatchObject({ status: 303, location: `${PAGE}?org=acme&done=deleted` });
  expect(await stored('acme-sso')).toBeNull();
  expect(await k.db.collection('external_identities').countDocuments({ methodId })).toBe(0);
  expect((await get(admin, deleted.location!)).html).toContain(
    'Sign-in method deleted, and the identities linked through it.',
  );
  const again = await post(admin, `${PAGE}?org=acme`, `${PAGE}/acme/methods/acme-sso/delete`, {});
  expect(again.status).toBe(404);
  expect(again.html).toContain(
    'No sign-in method &quot;acme-sso&quot; in organization &quot;acme&quot;.',
  );
});
