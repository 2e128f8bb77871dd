/**
 * The whole hop in a real browser (Debian Chromium): Keyward's home → sign in → "Sign in with your
 * organization" → the organization's methods → the upstream IdP's own page (a separate
 * node-oidc-provider process) → back to Keyward signed in → the linked identity on the account
 * pages. Screenshots in test-artifacts/ for a person to look at.
 */
import { type Browser } from 'playwright-core';
import { launchChromium, openPage, shot, visible, expectText } from '../helpers/chromium.ts';
import { createUser, freePort, PASSWORD, startKeyward, type Keyward } from '../helpers/keyward.ts';
import { signedInBrowser } from '../helpers/browserless.ts';
import { startUpstream, type Upstream } from './upstream.ts';

let k: Keyward;
let up: Upstream;
let browser: Browser;
const TEST_TIMEOUT = 120_000;
const SECRET = 'upstream-client-secret-0123456789abcdef';

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
    {
      alice: {
        password: 'alice-pw',
        sub: 'acme-alice',
        claims: { email: 'alice@acme.test', username: 'alice', name: 'Alice Acme' },
      },
    },
  );
  browser = await launchChromium();
  k = await startKeyward({ port });
  await k.container.accounts.register({
    username: 'root',
    email: 'root@example.com',
    password: PASSWORD,
    displayName: 'Root',
    platformAdmin: true,
  });
  await createUser(k, 'acme-admin', { org: 'acme', admin: true });
  const root = await signedInBrowser(k.baseUrl, 'root', PASSWORD);
  const res = await root.fetch(`${k.baseUrl}/api/organizations/acme/auth-methods/oidc`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({
      name: 'acme-sso',
      displayName: 'Acme SSO',
      clientId: 'kw-basic',
      clientSecret: SECRET,
      scopes: 'openid email profile',
      discoverEndpoints: true,
      issuer: up.issuer,
      tokenEndpointAuthMethod: 'client_secret_basic',
      allowNewUserCreation: true,
      allowPrivateAddress: true,
    }),
  });
  expect(res.status).toBe(200);
}, TEST_TIMEOUT);

afterAll(async () => {
  await browser?.close();
  await k?.stop();
  await up?.stop();
}, TEST_TIMEOUT);

test(
  'home → sign in with the organization → the upstream IdP → signed in, the identity linked',
  async () => {
    const { context, page, cspViolations } = await openPage(browser);
    try {
      await page.goto(`${k.baseUrl}/`);
      await page.getByRole('link', { name: 'Sign in', exact: true }).click();
      await page.waitForURL(/\/interaction\/[^/]+$/);
      await page.getByLabel('Username or email').fill('acme');
      await page.getByRole('button', { name: 'Sign in with your organization' }).click();

      await visible(page.getByRole('button', { name: 'Sign in with Acme SSO' }));
      await expectText(page.locator('.lead'), /with acme to continue to Keyward/);
      await shot(page, 'sso-methods.png');
      await page.getByRole('button', { name: 'Sign in with Acme SSO' }).click();

      // The organization's own IdP: another process, another origin.
      await page.waitForURL(`${up.issuer}/interaction/**`);
      await visible(page.getByRole('heading', { name: 'Acme SSO' }));
      await page.getByLabel('Acme username').fill('alice');
      await page.getByLabel('Acme password').fill('alice-pw');
      await shot(page, 'sso-upstream.png');
      await page.getByRole('button', { name: 'Sign in to Acme' }).click();

      await page.waitForURL(`${k.baseUrl}/`);
      await expectText(page.getByRole('heading', { level: 1 }), 'Welcome, Alice Acme');
      await visible(page.locator('#content').getByText('alice', { exact: true }));
      await shot(page, 'sso-signed-in.png');

      await page.goto(`${k.baseUrl}/account/identities`);
      await expectText(page.getByRole('heading', { level: 1 }), 'Linked identities');
      await visible(page.getByRole('cell', { name: 'Acme SSO' }));
      await visible(page.getByRole('cell', { name: 'acme-alice' }));
      await shot(page, 'sso-linked-identities.png');
      await page.goto(`${k.baseUrl}/account`);
      await visible(page.getByRole('link', { name: 'acme-alice' })); // on the profile page too
      expect(cspViolations).toEqual([]);
    } finally {
      await context.close();
    }
  },
  TEST_TIMEOUT,
);
