/**
 * Organization sign-in through the company's own OpenID provider (issue 15), end to end: a real
 * node-oidc-provider in its own process (upstream-idp.ts), Keyward's real pages and REST, and the
 * ID token Keyward issues at the end of the hop.
 */
import { createHash, randomBytes } from 'node:crypto';
import { decodeJwt } from 'jose';
import { Browser } from '../helpers/browserless.ts';
import { createUser, freePort, PASSWORD, startKeyward, type Keyward } from '../helpers/keyward.ts';
import { RP_CALLBACK, testClients, WEB_SECRET } from '../helpers/clients.ts';
import { atOnce } from '../helpers/at-once.ts';
import {
  clientKeyPair,
  signInUpstream,
  startUpstream,
  upstreamLogin,
  type Upstream,
} from './upstream.ts';

let k: Keyward;
let up: Upstream;
let root: Browser;
let orgAdmin: Browser;
const SECRET = 'upstream-client-secret-0123456789abcdef';
const key = clientKeyPair();

const accounts = {
  alice: {
    password: 'alice-pw',
    sub: 'acme-alice',
    claims: { email: 'alice@acme.test', username: 'alice', name: 'Alice Acme' },
  },
  bob: { password: 'bob-pw', sub: 'acme-bob', claims: { email: 'bob@acme.test', username: 'bob' } },
  carl: {
    password: 'carl-pw',
    sub: 'acme-carl',
    claims: { email: 'carl@acme.test', username: 'carl' },
  },
  eve: {
    password: 'eve-pw',
    sub: 'acme-eve',
    claims: { email: 'victim@example.com', username: 'eve' },
  },
  dana: {
    password: 'dana-pw',
    sub: 'acme-dana',
    claims: { email: 'dana@beta.test', username: 'dana' },
    amr: ['pwd', 'otp'],
    acr: 'urn:acme:mfa',
  },
  erik: {
    password: 'erik-pw',
    sub: 'acme-erik',
    claims: { email: 'erik@beta.test', username: 'erik' },
    amr: ['pwd', 'otp'],
  },
  fern: {
    password: 'fern-pw',
    sub: 'acme-fern',
    claims: { email: 'fern@beta.test', username: 'fern' },
  },
  gina: {
    password: 'gina-pw',
    sub: 'acme-gina',
    claims: { email: 'gina@gamma.test', username: 'gina' },
  },
  hank: {
    password: 'hank-pw',
    sub: 'acme-hank',
    claims: { email: 'hank.hill@delta.test', preferred_username: 'hank.hill', name: 'Hank Hill' },
  },
  jit: {
    password: 'jit-pw',
    sub: 'acme-many',
    claims: { email: 'many@acme.test', username: 'many' },
  },
};

async function browserAs(username: string): Promise<Browser> {
  const b = new Browser();
  const { signedInBrowser } = await import('../helpers/browserless.ts');
  const signed = await signedInBrowser(k.baseUrl, username, PASSWORD);
  for (const [n, v] of signed.cookies) b.cookies.set(n, v);
  return b;
}

const json = (b: Browser, method: string, path: string, body?: unknown) =>
  b.fetch(`${k.baseUrl}${path}`, {
    method,
    headers: {
      accept: 'application/json',
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });

beforeAll(async () => {
  const port = await freePort();
  const callback = `http://127.0.0.1:${port}/api/auth/sso/oidc/callback`;
  const client = (id: string, auth: string, extra: Record<string, unknown> = {}) => ({
    client_id: id,
    redirect_uris: [callback],
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: auth,
    id_token_signed_response_alg: 'ES256',
    ...extra,
  });
  up = await startUpstream(
    [
      client('kw-basic', 'client_secret_basic', { client_secret: SECRET }),
      client('kw-post', 'client_secret_post', { client_secret: SECRET }),
      client('kw-jwt', 'private_key_jwt', {
        jwks: { keys: [key.jwk] },
        token_endpoint_auth_signing_alg: 'RS256',
      }),
    ],
    accounts,
  );
  const cli = {
    client_id: 'pw-cli',
    client_name: 'Platform CLI',
    token_endpoint_auth_method: 'none',
    application_type: 'native',
    redirect_uris: ['http://127.0.0.1/callback'],
    grant_types: [
      'authorization_code',
      'refresh_token',
      'urn:ietf:params:oauth:grant-type:device_code',
    ],
    scope: 'openid profile email offline_access',
    firstParty: true,
  };
  k = await startKeyward({ port, clients: [...testClients, cli] });
  await k.container.accounts.register({
    username: 'root',
    email: 'root@example.com',
    password: PASSWORD,
    displayName: 'Root',
    platformAdmin: true,
  });
  await createUser(k, 'acme-admin', { org: 'acme', admin: true });
  await createUser(k, 'bobby', { org: 'acme' });
  await createUser(k, 'victim', { org: 'acme' });
  await createUser(k, 'beta-admin', { org: 'beta', admin: true });
  await createUser(k, 'gamma-admin', { org: 'gamma', admin: true });
  await createUser(k, 'delta-admin', { org: 'delta', admin: true });
  root = await browserAs('root');
  orgAdmin = await browserAs('acme-admin');
  const base = { scopes: 'openid email profile', issuer: up.issuer, allowPrivateAddress: true };
  for (const [org, body] of [
    [
      'acme',
      {
        ...base,
        name: 'acme-sso',
        displayName: 'Acme SSO',
        clientId: 'kw-basic',
        clientSecret: SECRET,
        discoverEndpoints: true,
        tokenEndpointAuthMethod: 'client_secret_basic',
        allowNewUserCreation: true,
      },
    ],
    [
      'acme',
      {
        ...base,
        name: 'acme-linked',
        displayName: 'Acme Linked',
        clientId: 'kw-post',
        clientSecret: SECRET,
        discoverEndpoints: false,
        tokenEndpointAuthMethod: 'client_secret_post',
        authorizationEndpoint: `${up.issuer}/auth`,
        tokenEndpoint: `${up.issuer}/token`,
        jwksUri: `${up.issuer}/jwks`,
        userinfoEndpoint: `${up.issuer}/me`,
      },
    ],
    [
      'beta',
      {
        ...base,
        name: 'beta-own-mfa',
        clientId: 'kw-jwt',
        privateKeyPEM: key.pem,
        discoverEndpoints: true,
        tokenEndpointAuthMethod: 'private_key_jwt',
        allowNewUserCreation: true,
      },
    ],
    [
      'gamma',
      {
        ...base,
        name: 'gamma-sso',
        clientId: 'kw-basic',
        clientSecret: SECRET,
        discoverEndpoints: true,
        tokenEndpointAuthMethod: 'client_secret_basic',
        allowNewUserCreation: true,
      },
    ],
    [
      'delta',
      {
        ...base,
        name: 'delta-sso',
        clientId: 'kw-basic',
        clientSecret: SECRET,
        discoverEndpoints: true,
        tokenEndpointAuthMethod: 'client_secret_basic',
        allowNewUserCreation: true,
        titleCase: true,
        usernameClaim: 'preferred_username',
        externalIdClaim: 'email',
      },
    ],
    [
      'beta',
      {
        ...base,
        name: 'beta-trusted',
        clientId: 'kw-basic',
        clientSecret: SECRET,
        discoverEndpoints: true,
        tokenEndpointAuthMethod: 'client_secret_basic',
        allowNewUserCreation: true,
        skipMfaVerification: true,
      },
    ],
  ] as const) {
    const res = await json(root, 'POST', `/api/organizations/${org}/auth-methods/oidc`, body);
    expect(res.status).toBe(200);
  }
});
afterAll(async () => {
  await k?.stop();
  await up?.stop();
});

/** Opens Keyward's sign-in for the first-party test-web client; answers the page and the code exchange. */
async function openSignIn(browser = new Browser()) {
  const verifier = randomBytes(32).toString('base64url');
  const url = new URL(`${k.issuer}/authorize`);
  url.search = new URLSearchParams({
    client_id: 'test-web',
    response_type: 'code',
    scope: 'openid profile email',
    redirect_uri: RP_CALLBACK,
    state: 's1',
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
  }).toString();
  const { res, url: pageUrl } = await browser.follow(url.toString());
  const page = { url: pageUrl, html: await res.text() };
  const exchange = async (callback: string) => {
    const code = new URL(callback).searchParams.get('code')!;
    const r = await fetch(`${k.issuer}/token`, {
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
    expect(r.status).toBe(200);
    return decodeJwt(((await r.json()) as { id_token: string }).id_token);
  };
  return { browser, page, exchange };
}

const atRp = (u: string) => u.startsWith(RP_CALLBACK);

async function federated(identifier: string, method: string, user: keyof typeof accounts) {
  const s = await openSignIn();
  const hop = await signInUpstream(
    s.browser,
    s.page,
    identifier,
    method,
    { username: user, password: accounts[user].password },
    atRp,
  );
  return { ...s, hop };
}

test('just-in-time: the first sign-in creates the member, the next one finds it by its link', async () => {
  const first = await federated('acme', 'acme-sso', 'alice');
  expect(first.hop.url).toMatch(/^https:\/\/rp\.example\.test\/cb\?code=/);
  const idToken = await first.exchange(first.hop.url);
  expect(idToken.amr).toEqual(['fed']);
  const alice = (await k.container.accounts.findByLogin('alice'))!;
  expect(idToken.sub).toBe(alice.id);
  expect(alice.email).toBe('alice@acme.test');
  expect(
    (await k.container.organizations.membershipsOf(alice.id)).map((m) => m.organization.name),
  ).toEqual(['acme']);
  const second = await federated('alice', 'acme-sso', 'alice');
  expect((await second.exchange(second.hop.url)).sub).toBe(alice.id);
  const events = await k.db
    .collection('audit_events')
    .find({ type: 'sign_in.federated', accountId: alice.id })
    .sort({ at: 1 })
    .toArray();
  expect(events.map((e) => e.details.user)).toEqual(['new', 'linked']);
  expect(events[0].details).toMatchObject({
    method: 'acme-sso',
    externalId: 'acme-alice',
    organization: 'acme',
  });
});

test('without just-in-time creation an unlinked identity is refused; an admin link lets it in', async () => {
  const refused = await federated('acme', 'acme-linked', 'carl');
  expect(refused.hop.status).toBe(403);
  expect(refused.hop.html).toContain('not linked to a Keyward account');
  expect(await k.container.accounts.findByLogin('carl')).toBeUndefined();

  const linked = await json(orgAdmin, 'POST', '/api/organizations/acme/users/bobby/external-ids', {
    method: 'acme-linked',
    externalId: 'acme-bob',
  });
  expect(linked.status).toBe(204);
  const bob = await federated('bobby', 'acme-linked', 'bob');
  expect(bob.hop.url).toMatch(/^https:\/\/rp\.example\.test\/cb\?code=/);
  expect((await bob.exchange(bob.hop.url)).sub).toBe(
    (await k.container.accounts.findByLogin('bobby'))!.id,
  );
  const list = (await (
    await json(orgAdmin, 'GET', '/api/organizations/acme/users/bobby/external-ids')
  ).json()) as { method: string; externalId: string }[];
  expect(list).toEqual([
    expect.objectContaining({ method: 'acme-linked', externalId: 'acme-bob' }),
  ]);
});

test("an email alone never links: an upstream identity claiming an existing account's email is refused", async () => {
  const r = await federated('acme', 'acme-sso', 'eve');
  expect(r.hop.status).toBe(403);
  expect(r.hop.html).toContain('already exists and is not linked');
  expect(
    await k.db.collection('external_identities').countDocuments({ externalId: 'acme-eve' }),
  ).toBe(0);
});

test.each(['iss', 'aud', 'nonce'] as const)(
  'an ID token with a wrong %s is refused',
  async (mode) => {
    await up.tamper(mode);
    try {
      const r = await federated('acme', 'acme-sso', 'alice');
      expect(r.hop.status).toBe(401);
      expect(r.hop.url).toContain('/api/auth/sso/oidc/callback');
      expect(r.hop.html).toContain('cannot accept');
    } finally {
      await up.tamper('none');
    }
  },
);

describe('MFA for federated sign-ins (enforce-mfa on beta)', () => {
  beforeAll(async () => {
    expect(
      (await json(root, 'POST', '/api/organizations/beta/policies/enforce-mfa', true)).status,
    ).toBe(200);
  });

  test("skipMfaVerification off: Keyward's own second factor still applies", async () => {
    const r = await federated('beta', 'beta-own-mfa', 'erik');
    expect(r.hop.url).toMatch(/\/interaction\/[^/]+\/mfa\/enroll$/);
    expect(r.hop.html).toContain('2-step</span> verification');
  });

  test("skipMfaVerification on: the upstream IdP's MFA is trusted and recorded in the ID token", async () => {
    const r = await federated('beta', 'beta-trusted', 'dana');
    expect(r.hop.url).toMatch(/^https:\/\/rp\.example\.test\/cb\?code=/);
    const idToken = await r.exchange(r.hop.url);
    expect(idToken.amr).toEqual(['fed', 'pwd', 'otp', 'mfa']);
    expect(idToken.acr).toBe('urn:keyward:acr:mfa');
    expect(idToken.upstream_acr).toBe('urn:acme:mfa'); // the IdP's own acr, next to Keyward's
    const event = await k.db
      .collection('audit_events')
      .findOne({ type: 'sign_in.federated', 'details.externalId': 'acme-dana' });
    expect(event?.details).toMatchObject({ upstreamAmr: 'pwd otp', acr: 'urn:acme:mfa' });
  });

  test('skipMfaVerification on trusts the IdP even when it reports no second factor of its own', async () => {
    const r = await federated('beta', 'beta-trusted', 'fern');
    expect(r.hop.url).toMatch(/^https:\/\/rp\.example\.test\/cb\?code=/);
    const idToken = await r.exchange(r.hop.url);
    expect(idToken.amr).toEqual(['fed', 'pwd', 'mfa']);
    expect(idToken.upstream_acr).toBeUndefined(); // the IdP said no acr
  });
});

test('claims mapping: usernameClaim, externalIdClaim and titleCase shape the new account and its link', async () => {
  const r = await federated('delta', 'delta-sso', 'hank');
  expect(r.hop.url).toMatch(/^https:\/\/rp\.example\.test\/cb\?code=/);
  const hank = (await k.container.accounts.findByLogin('hank.hill'))!;
  expect(hank).toMatchObject({
    username: 'Hank.Hill',
    displayName: 'Hank Hill',
    email: 'hank.hill@delta.test',
  });
  expect(
    await k.db.collection('external_identities').findOne({ accountId: hank.id }),
  ).toMatchObject({ externalId: 'hank.hill@delta.test' });
});

test('Enforce Security Key MFA exempts federated sign-ins; password sign-ins still need a security key', async () => {
  expect(
    (await json(root, 'POST', '/api/organizations/gamma/policies/enforce-webauthn-mfa', 'hardware'))
      .status,
  ).toBe(200);
  const fed = await federated('gamma', 'gamma-sso', 'gina');
  expect(fed.hop.url).toMatch(/^https:\/\/rp\.example\.test\/cb\?code=/);
  expect((await fed.exchange(fed.hop.url)).amr).toEqual(['fed']);
  const { passwordStep, webClient } = await import('../helpers/mfa.ts');
  const pw = await passwordStep(k, await webClient(k), 'gamma-admin', PASSWORD);
  expect(pw.page?.url).toMatch(/\/mfa\/enroll$/);
  const page = await (
    await orgAdmin.fetch(`${k.baseUrl}/account/admin/sign-in-methods?org=acme`)
  ).text();
  expect(page).toContain('does not apply to federated (OIDC) sign-ins');
  const policies = await (await orgAdmin.fetch(`${k.baseUrl}/account/admin?org=acme`)).text();
  expect(policies).toContain('Federated (OIDC) sign-ins are exempt.');
});

test('disable-password-login: members get no password field and a password sign-in is refused', async () => {
  expect(
    (await json(orgAdmin, 'POST', '/api/organizations/acme/policies/disable-password-login', true))
      .status,
  ).toBe(200);
  try {
    const s = await openSignIn();
    const { formAction, formField } = await import('../helpers/browserless.ts');
    const action = new URL(formAction(s.page.html, '/login'), s.page.url).toString();
    const choose = await s.browser.postForm(action, {
      _csrf: formField(s.page.html, '_csrf'),
      username: 'bobby',
      password: '',
    });
    const html = await choose.text();
    expect(html).toContain('Sign in with Acme SSO');
    expect(html).not.toContain('type="password"');
    const pw = await s.browser.postForm(action, {
      _csrf: formField(html, '_csrf'),
      username: 'bobby',
      password: PASSWORD,
    });
    expect(pw.status).toBe(403);
    expect(await pw.text()).toContain('Password sign-in is turned off for acme');
    // Not a member of acme: unaffected.
    const other = await openSignIn();
    const ok = await other.browser.postForm(
      new URL(formAction(other.page.html, '/login'), other.page.url).toString(),
      { _csrf: formField(other.page.html, '_csrf'), username: 'beta-admin', password: PASSWORD },
    );
    expect(ok.status).toBe(303);
  } finally {
    await json(orgAdmin, 'DELETE', '/api/organizations/acme/policies/disable-password-login');
  }
});

test('REST: secrets are write-only and sealed, blank secrets keep the stored ones, allowPrivateAddress is for platform admins', async () => {
  const list = (await (await json(orgAdmin, 'GET', '/api/organizations/acme/auth')).json()) as {
    name: string;
    type: string;
  }[];
  expect(list.map((m) => `${m.type}:${m.name}`)).toEqual(['oidc:acme-sso', 'oidc:acme-linked']);
  const got = await json(orgAdmin, 'GET', '/api/organizations/acme/auth-methods/oidc/acme-sso');
  const text = await got.text();
  expect(got.status).toBe(200);
  expect(text).not.toContain(SECRET);
  expect(JSON.parse(text)).toMatchObject({
    name: 'acme-sso',
    clientId: 'kw-basic',
    type: 'oidc',
    allowNewUserCreation: true,
  });
  const stored = await k.db.collection('sign_in_methods').find().toArray();
  expect(JSON.stringify(stored)).not.toContain(SECRET);
  expect(JSON.stringify(stored)).not.toContain('PRIVATE KEY');

  const patched = await json(
    orgAdmin,
    'PATCH',
    '/api/organizations/acme/auth-methods/oidc/acme-sso',
    { displayName: 'Acme Single Sign-On', clientSecret: '' },
  );
  expect(patched.status).toBe(200);
  const again = await federated('alice', 'acme-sso', 'alice');
  expect(again.hop.url).toMatch(/^https:\/\/rp\.example\.test\/cb\?code=/); // the stored secret still works

  const sneaky = await json(
    orgAdmin,
    'PATCH',
    '/api/organizations/acme/auth-methods/oidc/acme-sso',
    { allowPrivateAddress: false },
  );
  expect(sneaky.status).toBe(403);
  const member = await browserAs('bobby');
  expect((await json(member, 'GET', '/api/organizations/acme/auth')).status).toBe(403);
});

test('SSRF guard: without allowPrivateAddress a private address is refused before any request', async () => {
  const res = await json(orgAdmin, 'POST', '/api/organizations/acme/auth-methods/oidc', {
    name: 'internal',
    clientId: 'kw-basic',
    clientSecret: SECRET,
    scopes: 'openid',
    discoverEndpoints: true,
    tokenEndpointAuthMethod: 'client_secret_basic',
    issuer: `https://127.0.0.1:${new URL(up.issuer).port}`,
    allowNewUserCreation: true,
  });
  expect(res.status).toBe(200);
  const s = await openSignIn();
  const { formAction, formField } = await import('../helpers/browserless.ts');
  const choose = await s.browser.postForm(
    new URL(formAction(s.page.html, '/login'), s.page.url).toString(),
    { _csrf: formField(s.page.html, '_csrf'), username: 'acme', password: '' },
  );
  const html = await choose.text();
  const action = new RegExp('action="(/interaction/[^"]+/sso/[^"]+)" data-method="internal"').exec(
    html,
  )![1];
  const started = await s.browser.postForm(new URL(action, s.page.url).toString(), {
    _csrf: formField(html, '_csrf'),
  });
  expect(started.status).toBe(400);
  expect(await started.text()).toContain('private or local address');
  expect(
    (await json(orgAdmin, 'DELETE', '/api/organizations/acme/auth-methods/internal')).status,
  ).toBe(204);
});

test('the same first sign-in arriving 8 times at once creates one account', async () => {
  const pending = await atOnce(8, async () => {
    const s = await openSignIn();
    const hop = await signInUpstream(
      s.browser,
      s.page,
      'acme',
      'acme-sso',
      { username: 'jit', password: 'jit-pw' },
      (u) => u.includes('/api/auth/sso/oidc/callback'),
    );
    return { browser: s.browser, url: hop.url };
  });
  const results = await atOnce(8, (i) => pending[i].browser.fetch(pending[i].url));
  expect(results.map((r) => r.status)).toEqual(Array(8).fill(303));
  expect(await k.db.collection('accounts').countDocuments({ usernameLower: 'many' })).toBe(1);
  expect(
    await k.db.collection('external_identities').countDocuments({ externalId: 'acme-many' }),
  ).toBe(1);
});

test('a callback is single-use and bound to the browser that started the sign-in', async () => {
  const s = await openSignIn();
  const hop = await signInUpstream(
    s.browser,
    s.page,
    'acme',
    'acme-sso',
    { username: 'alice', password: 'alice-pw' },
    (u) => u.includes('/api/auth/sso/oidc/callback'),
  );
  const stranger = new Browser();
  expect((await stranger.fetch(hop.url)).status).toBe(400);
  expect((await s.browser.fetch(hop.url)).status).toBe(303);
  expect((await s.browser.fetch(hop.url)).status).toBe(400);
});

test('one callback arriving 8 times at once from its browser: exactly one continues the sign-in', async () => {
  const s = await openSignIn();
  const hop = await signInUpstream(
    s.browser,
    s.page,
    'acme',
    'acme-sso',
    { username: 'alice', password: 'alice-pw' },
    (u) => u.includes('/api/auth/sso/oidc/callback'),
  );
  const results = await atOnce(8, () => s.browser.fetch(hop.url));
  const statuses = results.map((r) => r.status).sort();
  expect(statuses).toEqual([303, 400, 400, 400, 400, 400, 400, 400]);
});

test('contract routes: redirect/{authID} answers 204 with Location into the sign-in, and the sector identifier lists the callback', async () => {
  const list = (await (await json(orgAdmin, 'GET', '/api/organizations/acme/auth')).json()) as {
    id: string;
    name: string;
  }[];
  const id = list.find((m) => m.name === 'acme-sso')!.id;
  const crossSite = await new Browser().fetch(`${k.baseUrl}/api/auth/sso/oidc/redirect/${id}`, {
    headers: { 'sec-fetch-site': 'cross-site' },
  });
  expect(crossSite.status).toBe(403);
  expect(crossSite.headers.get('set-cookie')).toBeNull();
  const b = new Browser();
  const r = await b.fetch(`${k.baseUrl}/api/auth/sso/oidc/redirect/${id}`, {
    headers: { accept: 'application/json' },
  });
  expect(r.status).toBe(204);
  expect(r.headers.get('set-cookie')).toContain('kw.sso.start=');
  const hop = await upstreamLogin(
    b,
    new URL(r.headers.get('location')!, k.baseUrl).toString(),
    { username: 'alice', password: 'alice-pw' },
    (u) => u.startsWith(`${k.baseUrl}/signin/callback`),
  );
  expect(hop.url).toContain('/signin/callback?code=');
  const sector = await fetch(`${k.baseUrl}/api/oidc/sso/${id}/sector-identifier`);
  expect(await sector.json()).toEqual([`${k.baseUrl}/api/auth/sso/oidc/callback`]);
});

test('device flow: the CLI signs in through the upstream IdP with nothing changed on its side', async () => {
  const { startDevice, approve, pollOnce } = await import('../helpers/device.ts');
  const start = await startDevice(k.issuer);
  const b = new Browser();
  const first = await b.follow(`${k.issuer}/device`);
  const page = { url: first.url, html: await first.res.text() };
  expect(page.url).toContain('/interaction/');
  const hop = await signInUpstream(
    b,
    page,
    'acme',
    'acme-sso',
    { username: 'alice', password: 'alice-pw' },
    (u) => u === `${k.issuer}/device`,
  );
  expect(hop.url).toBe(`${k.issuer}/device`);
  const done = await approve(b, k.issuer, start.user_code);
  expect(done.html).toContain('Device signed in');
  const poll = await pollOnce(k.issuer, start.device_code);
  expect(poll.status).toBe(200);
  const idToken = decodeJwt(poll.body.id_token);
  expect(idToken.sub).toBe((await k.container.accounts.findByLogin('alice'))!.id);
  expect(idToken.amr).toEqual(['fed']);
});

test("admin page: link and unlink a member's identity; the member sees it on the profile page", async () => {
  const { formField } = await import('../helpers/browserless.ts');
  const page = await (
    await orgAdmin.fetch(`${k.baseUrl}/account/admin/sign-in-methods?org=acme`)
  ).text();
  expect(page).toContain('acme-sso');
  const linked = await orgAdmin.postForm(`${k.baseUrl}/account/admin/sign-in-methods/acme/link`, {
    _csrf: formField(page, '_csrf'),
    username: 'victim',
    method: 'acme-sso',
    externalId: 'acme-victim',
  });
  expect(linked.status).toBe(302);
  const victim = (await k.container.accounts.findByLogin('victim'))!;
  expect(
    await k.db.collection('external_identities').findOne({
      _id: `${(await k.db.collection('sign_in_methods').findOne({ name: 'acme-sso' }))!._id}:acme-victim`,
    } as never),
  ).toMatchObject({ accountId: victim.id });
  const again = await orgAdmin.postForm(`${k.baseUrl}/account/admin/sign-in-methods/acme/link`, {
    _csrf: formField(page, '_csrf'),
    username: 'bobby',
    method: 'acme-sso',
    externalId: 'acme-victim',
  });
  expect(again.status).toBe(409);
  expect(await again.text()).toContain('already linked');

  const member = await browserAs('victim');
  expect(await (await member.fetch(`${k.baseUrl}/account`)).text()).toContain('acme-victim');
  expect(
    (
      await json(member, 'POST', '/api/organizations/acme/users/victim/external-ids', {
        method: 'acme-sso',
        externalId: 'x',
      })
    ).status,
  ).toBe(403);

  const unlinked = await orgAdmin.postForm(
    `${k.baseUrl}/account/admin/sign-in-methods/acme/unlink`,
    {
      _csrf: formField(page, '_csrf'),
      username: 'victim',
      method: 'acme-sso',
      externalId: 'acme-victim',
    },
  );
  expect(unlinked.status).toBe(302);
  expect(
    await k.db.collection('external_identities').countDocuments({ accountId: victim.id }),
  ).toBe(0);
  const types = (
    await k.db.collection('audit_events').find({ accountId: victim.id }).toArray()
  ).map((e) => e.type);
  expect(types).toEqual(
    expect.arrayContaining(['external_identity.linked', 'external_identity.unlinked']),
  );
});

test('deleting a method deletes its links', async () => {
  expect(
    await k.db.collection('external_identities').countDocuments({ externalId: 'acme-bob' }),
  ).toBe(1);
  expect(
    (await json(orgAdmin, 'DELETE', '/api/organizations/acme/auth-methods/acme-linked')).status,
  ).toBe(204);
  expect(
    await k.db.collection('external_identities').countDocuments({ externalId: 'acme-bob' }),
  ).toBe(0);
  const event = await k.db
    .collection('audit_events')
    .findOne({ type: 'sign_in_method.deleted', 'details.method': 'acme-linked' });
  expect(event?.details).toMatchObject({ methodType: 'oidc', organization: 'acme' });
  expect(event?.accountId).toBe((await k.container.accounts.findByLogin('acme-admin'))!.id);
});
