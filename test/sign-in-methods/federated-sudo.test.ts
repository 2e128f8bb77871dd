/**
 * Confirm it's you for a member who signs in through the organization's identity provider: such
 * an account has no password of its own (created at first sign-in), so "Confirm it's you" offers
 * signing in again through the organization (`/signin?reauth=1`, prompt=login), and that fresh
 * sign-in is the verification. Against a real node-oidc-provider process as the upstream IdP.
 */
import { Browser } from '../helpers/browserless.ts';
import { freePort, PASSWORD, startKeyward, type Keyward } from '../helpers/keyward.ts';
import { signInUpstream, startUpstream, type Upstream } from './upstream.ts';

let k: Keyward;
let up: Upstream;
const SECRET = 'upstream-client-secret-0123456789abcdef';
const accounts = {
  ines: {
    password: 'ines-pw',
    sub: 'acme-ines',
    claims: { email: 'ines@acme.test', username: 'ines' },
  },
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
  await k.container.accounts.register({
    username: 'root',
    email: 'root@example.com',
    password: PASSWORD,
    displayName: 'Root',
    platformAdmin: true,
  });
  await k.container.organizations.create('acme');
  const { signedInBrowser } = await import('../helpers/browserless.ts');
  const root = await signedInBrowser(k.baseUrl, 'root', PASSWORD);
  const created = await root.fetch(`${k.baseUrl}/api/organizations/acme/auth-methods/oidc`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: k.baseUrl },
    body: JSON.stringify({
      name: 'acme-sso',
      displayName: 'Acme SSO',
      clientId: 'kw-basic',
      clientSecret: SECRET,
      scopes: 'openid email profile',
      issuer: up.issuer,
      discoverEndpoints: true,
      tokenEndpointAuthMethod: 'client_secret_basic',
      allowNewUserCreation: true,
      allowPrivateAddress: true,
    }),
  });
  expect(created.status).toBe(200);
}, 60_000);
afterAll(async () => {
  await k?.stop();
  await up?.stop();
});

/** The moment Keyward's sudo rule counts sign-ins from: just after `authTime` (seconds), whatever the real time. */
const cutOffJustAfter = (authTime: number) => {
  k.clock.offsetMs = authTime * 1000 + 500 + 600_000 - Date.now();
};

async function loginTs(accountId: string): Promise<number> {
  const sessions = await k.db.collection('oidc_session').find({ accountId }).toArray();
  expect(sessions.length).toBeGreaterThan(0);
  return Math.max(
    ...sessions.map((s) =>
      Number((JSON.parse(s.payload as string) as { loginTs: number }).loginTs),
    ),
  );
}

test('a federated member confirms a change by signing in again through the organization', async () => {
  const b = new Browser();
  const home = (u: string) => u === `${k.baseUrl}/`;
  const start = await b.follow(`${k.baseUrl}/signin`);
  const first = await signInUpstream(
    b,
    { url: start.url, html: await start.res.text() },
    'acme',
    'acme-sso',
    { username: 'ines', password: 'ines-pw' },
    home,
  );
  expect(first.url).toBe(`${k.baseUrl}/`);
  const ines = (await k.container.accounts.findByLogin('ines'))!;
  const firstAuth = await loginTs(ines.id);

  const createKey = () =>
    b.fetch(`${k.baseUrl}/api/apikeys`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: k.baseUrl },
      body: JSON.stringify({ duration: '7' }),
    });
  cutOffJustAfter(firstAuth); // the sign-in is now older than the sudo window
  const refused = await createKey();
  expect(refused.status).toBe(403);
  expect(((await refused.json()) as { code: string }).code).toBe('sudo_required');

  // Confirm it's you: no password form (the account has none); "Sign in again with your organization".
  const verify = await b.fetch(`${k.baseUrl}/account/verify?next=%2Faccount%2Fapi-keys`);
  const html = await verify.text();
  expect(html).toContain('Sign in again with your organization');
  expect(html).not.toContain('type="password"');
  const reauth = /href="([^"]+)" data-reauth/.exec(html)![1].replace(/&amp;/g, '&');
  expect(reauth).toBe('/signin?reauth=1&next=%2Faccount%2Fapi-keys');

  await new Promise((r) => setTimeout(r, 1100)); // a later sign-in second
  const again = await b.follow(`${k.baseUrl}${reauth}`);
  const page = await again.res.text();
  expect(page).toContain('Sign in'); // prompt=login: the sign-in page, although the session exists
  const second = await signInUpstream(
    b,
    { url: again.url, html: page },
    'ines',
    'acme-sso',
    { username: 'ines', password: 'ines-pw' },
    (u) => u.startsWith(`${k.baseUrl}/account/api-keys`),
  );
  expect(second.url).toBe(`${k.baseUrl}/account/api-keys`);
  expect(await loginTs(ines.id)).toBeGreaterThan(firstAuth);

  cutOffJustAfter(firstAuth); // the same cut-off: only the new sign-in is recent enough
  const created = await createKey();
  expect(created.status).toBe(200);
  expect(((await created.json()) as { key: string }).key).toMatch(/^pwt_/);
}, 60_000);
