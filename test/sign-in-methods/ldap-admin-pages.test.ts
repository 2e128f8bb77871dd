/**
 * The LDAP form of the organization admin page against a real OpenLDAP directory (slapd.ts):
 * "Test connection" before saving (a failing test shown at the field it concerns, a passing one
 * keeping what was typed but the bind password), saving verifying the connection as the REST API
 * does, an edit with a blank bind password keeping the stored one, and a sign-in through the
 * method added on the page.
 */
import { Browser, formAction, formField, signedInBrowser } from '../helpers/browserless.ts';
import { createUser, freePort, PASSWORD, startKeyward, type Keyward } from '../helpers/keyward.ts';
import { BASE_DN, SERVICE_DN, SERVICE_PASSWORD, startSlapd, type Slapd } from './slapd.ts';

let k: Keyward;
let dir: Slapd;
let root: Browser;
let admin: Browser;
const PAGE = '/account/admin/sign-in-methods';

beforeAll(async () => {
  dir = await startSlapd([
    { uid: 'lia', password: 'lia-directory-pw', mail: 'lia@dir.test', cn: 'Lia Lee' },
  ]);
  k = await startKeyward();
  const rootAccount = await k.container.accounts.register({
    username: 'root',
    email: 'root@example.com',
    password: PASSWORD,
    displayName: 'Root',
    platformAdmin: true,
  });
  await createUser(k, 'dir-admin', { org: 'dir', admin: true });
  await k.container.organizations.addMember(
    (await k.container.organizations.findByName('dir'))!.id,
    rootAccount.id,
    { admin: true },
  );
  root = await signedInBrowser(k.baseUrl, 'root', PASSWORD);
  admin = await signedInBrowser(k.baseUrl, 'dir-admin', PASSWORD);
});
afterAll(async () => {
  await k?.stop();
  await dir?.stop();
});

/** What the LDAP form posts (blank fields included), as the platform admin who may allow 127.0.0.1. */
const ldapForm = (over: Record<string, string> = {}) => ({
  name: 'corp-ldap',
  displayName: 'Corp directory',
  url: dir.ldapsUrl,
  caCertificate: dir.caCertificate,
  bindDN: SERVICE_DN,
  bindPassword: SERVICE_PASSWORD,
  baseDN: BASE_DN,
  userFilter: '',
  allowNewUserCreation: 'on',
  usernameAttribute: '',
  emailAttribute: '',
  externalIdAttribute: '',
  displayNameAttribute: '',
  allowPrivateAddress: 'on',
  allowPrivateAddressShown: '1',
  ...over,
});
async function post(b: Browser, from: string, path: string, fields: Record<string, string>) {
  const page = await b.fetch(`${k.baseUrl}${from}`);
  const res = await b.postForm(`${k.baseUrl}${path}`, {
    _csrf: formField(await page.text(), '_csrf'),
    ...fields,
  });
  return {
    status: res.status,
    location: res.headers.get('location'),
    html: res.status === 303 ? '' : await res.text(),
  };
}
const fieldError = (html: string, field: string) =>
  new RegExp(`id="${field}-error" role="alert">([^<]*)<`).exec(html)?.[1];
const stored = (name: string) => k.db.collection('sign_in_methods').findOne({ name });
const NEW = `${PAGE}/dir/new/ldap`;

test('the form has a Test connection button; a failing test is shown at its field, a passing one keeps what was typed', async () => {
  const form = await (await root.fetch(`${k.baseUrl}${NEW}`)).text();
  expect(form).toContain(`formaction="${NEW}/test"`);
  expect(form).toContain('Test connection');

  const wrong = await post(
    root,
    NEW,
    `${NEW}/test`,
    ldapForm({ bindPassword: 'not the service password' }),
  );
  expect(wrong.status).toBe(400);
  expect(fieldError(wrong.html, 'bindPassword')).toBe(
    'The directory refused the service account: check the bind DN and the bind password.',
  );
  expect(wrong.html).not.toContain('not the service password');
  expect(wrong.html).toContain(`value="${BASE_DN}"`);

  const noCa = await post(root, NEW, `${NEW}/test`, ldapForm({ caCertificate: '' }));
  expect(fieldError(noCa.html, 'caCertificate')).toMatch(/TLS certificate Keyward does not trust/);

  const closed = await post(
    root,
    NEW,
    `${NEW}/test`,
    ldapForm({ url: `ldap://127.0.0.1:${await freePort()}` }),
  );
  expect(closed.status).toBe(400); // not a 503 page: the URL is what is wrong
  expect(fieldError(closed.html, 'url')).toMatch(/could not be used/);

  const good = await post(root, NEW, `${NEW}/test`, ldapForm());
  expect(good.status).toBe(200);
  expect(good.html).toContain('Connection works');
  expect(good.html).toContain(`value="${SERVICE_DN}"`);
  expect(good.html).not.toContain(SERVICE_PASSWORD);
  expect(await stored('corp-ldap')).toBeNull(); // a test saves nothing
});

test('an organization admin cannot reach a private address: the test says so at the URL', async () => {
  const { allowPrivateAddress: _a, allowPrivateAddressShown: _s, ...fields } = ldapForm();
  const r = await post(admin, NEW, `${NEW}/test`, fields);
  expect(r.status).toBe(400);
  expect(fieldError(r.html, 'url')).toMatch(/127\.0\.0\.1 is a private or local address/);
});

test('saving verifies the connection; an edit with a blank bind password keeps it; members sign in through it', async () => {
  const refused = await post(
    root,
    NEW,
    NEW,
    ldapForm({ bindPassword: 'not the service password' }),
  );
  expect(refused.status).toBe(400);
  expect(fieldError(refused.html, 'bindPassword')).toMatch(/refused the service account/);
  expect(await stored('corp-ldap')).toBeNull();

  const made = await post(root, NEW, NEW, ldapForm());
  expect(made).toMatchObject({ status: 303, location: `${PAGE}?org=dir&done=created` });
  const before = await stored('corp-ldap');
  expect(before?.settings).toMatchObject({
    url: dir.ldapsUrl,
    baseDN: BASE_DN,
    allowNewUserCreation: true,
    allowPrivateAddress: true,
  });
  expect(JSON.stringify(before)).not.toContain(SERVICE_PASSWORD);

  const EDIT = `${PAGE}/dir/methods/corp-ldap`;
  const edit = await (await admin.fetch(`${k.baseUrl}${EDIT}`)).text();
  expect(edit).toMatch(/id="bindPassword" name="bindPassword" type="password" value=""/);
  expect(edit).toContain('Leave blank to keep it');
  const {
    name: _n,
    allowPrivateAddress: _a,
    allowPrivateAddressShown: _s,
    ...fields
  } = ldapForm({ bindPassword: '', displayName: 'Corporate directory' });
  const tested = await post(admin, EDIT, `${EDIT}/test`, fields); // the stored bind password, as saving would use it
  expect(tested.status).toBe(200);
  expect(tested.html).toContain('Connection works');
  // Trying the stored bind password against settings not saved yet could send it elsewhere: sudo mode first.
  const editPage = await (await admin.fetch(`${k.baseUrl}${EDIT}`)).text();
  k.clock.offsetMs = 11 * 60_000;
  try {
    const late = await admin.postForm(`${k.baseUrl}${EDIT}/test`, {
      _csrf: formField(editPage, '_csrf'),
      ...fields,
      url: 'ldaps://ldap.attacker.example',
    });
    expect(late.status).toBe(302);
    expect(late.headers.get('location')).toBe(`/account/verify?next=${encodeURIComponent(EDIT)}`);
  } finally {
    k.clock.offsetMs = 0;
  }
  const saved = await post(admin, EDIT, EDIT, fields);
  expect(saved).toMatchObject({ status: 303, location: `${PAGE}?org=dir&done=updated` });
  const after = await stored('corp-ldap');
  expect(after?.displayName).toBe('Corporate directory');
  expect(after?.sealed.bindPassword).toEqual(before?.sealed.bindPassword);
  const broken = await post(admin, EDIT, EDIT, {
    ...fields,
    url: `ldap://127.0.0.1:${await freePort()}`,
  });
  expect(broken.status).toBe(400);
  expect(fieldError(broken.html, 'url')).toBeDefined();
  expect((await stored('corp-ldap'))?.settings.url).toBe(dir.ldapsUrl);

  // Lia signs in with her directory password through the method added on the page.
  const b = new Browser();
  const { res, url } = await b.follow(`${k.baseUrl}/signin`);
  const login = await res.text();
  const chosen = await b.postForm(new URL(formAction(login, '/login'), url).toString(), {
    _csrf: formField(login, '_csrf'),
    username: 'dir',
    password: '',
  });
  const methods = await chosen.text();
  expect(methods).toContain('Sign in with Corporate directory');
  const action = /action="([^"]+)" class="stack" data-method="corp-ldap"/.exec(methods)![1];
  const signed = await b.postForm(new URL(action, url).toString(), {
    _csrf: formField(methods, '_csrf'),
    username: 'lia',
    password: 'lia-directory-pw',
  });
  expect(signed.status).toBe(303);
  expect((await k.container.accounts.findByLogin('lia'))?.email).toBe('lia@dir.test');
});
