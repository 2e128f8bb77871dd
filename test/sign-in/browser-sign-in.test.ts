/**
 * A real browser (Debian Chromium driven by playwright-core) through Keyward's own pages:
 * home → sign in (a wrong password first, then the right one) → home signed in → sign out, and
 * a third-party client's consent page ending in a code at the client's redirect URI. Each page
 * is also saved as a screenshot in test-artifacts/ for a person to look at.
 */
import { createHash, randomBytes } from 'node:crypto';
import { type Browser, type Locator } from 'playwright-core';
import {
  launchChromium,
  openPage,
  shot,
  visible,
  eventually,
  expectText,
  submitSignIn,
} from '../helpers/chromium.ts';
import { createUser, PASSWORD, startKeyward, type Keyward } from '../helpers/keyward.ts';
import { RP_CALLBACK, THIRD_SECRET, testClients } from '../helpers/clients.ts';

let k: Keyward;
let browser: Browser;

const TEST_TIMEOUT = 120_000;

beforeAll(async () => {
  browser = await launchChromium();
  k = await startKeyward({ clients: testClients });
  await createUser(k, 'Alice');
}, TEST_TIMEOUT);

afterAll(async () => {
  await browser?.close();
  await k?.stop();
}, TEST_TIMEOUT);

/** A fresh browser profile per test, failing fast on anything the page's CSP blocks. */
const newPage = () => openPage(browser);

async function expectFocused(locator: Locator): Promise<void> {
  await eventually(async () =>
    expect(await locator.evaluate((el) => el === el.ownerDocument.activeElement)).toBe(true),
  );
}

test(
  'home → sign in (wrong password, then right) → signed in → sign out',
  async () => {
    const { context, page, cspViolations } = await newPage();
    try {
      await page.goto(`${k.baseUrl}/`);
      await expectText(page.getByRole('heading', { level: 1 }), /Keyward/);
      await page.getByRole('link', { name: 'Sign in', exact: true }).click();

      // The sign-in page, behind the provider's interaction, for the built-in "Keyward" client.
      await page.waitForURL(/\/interaction\/[^/]+$/);
      await visible(page.getByRole('heading', { level: 1, name: 'Sign in' }));
      await expectText(page.locator('.lead strong'), 'Keyward');
      await expectFocused(page.getByLabel('Username or email'));
      await shot(page, 'sign-in.png');

      // A wrong password: the error banner, the username kept, the password field focused.
      await submitSignIn(page, 'alice', 'not the right passphrase');
      await expectText(page.getByRole('alert'), 'Invalid username or password.');
      expect(await page.getByLabel('Username or email').inputValue()).toBe('alice');
      expect(await page.getByLabel('Password').inputValue()).toBe('');
      await expectFocused(page.getByLabel('Password'));
      await shot(page, 'sign-in-error.png');

      // The right password: back on the home page, signed in.
      await page.getByLabel('Password').fill(PASSWORD);
      await page.getByRole('button', { name: 'Sign in', exact: true }).click();
      await page.waitForURL(`${k.baseUrl}/`);
      await expectText(page.getByRole('heading', { level: 1 }), /Welcome/);
      await expectText(page.locator('.lead'), 'You are signed in to Keyward.');
      await visible(page.locator('#content').getByText('Alice', { exact: true })); // the username
      await visible(page.getByRole('banner').getByText('Alice', { exact: true })); // and the user menu in the header
      await visible(page.getByRole('link', { name: 'Sign out', exact: true }));
      await shot(page, 'home-signed-in.png');

      // Sign out: the provider's confirmation page, then home again, signed out.
      await page.getByRole('link', { name: 'Sign out', exact: true }).click();
      await visible(page.getByRole('heading', { level: 1, name: 'Sign out?' }));
      await shot(page, 'sign-out.png');
      await page.getByRole('button', { name: 'Yes, sign me out' }).click();
      await page.waitForURL(`${k.baseUrl}/`);
      await expectText(page.getByRole('heading', { level: 1 }), 'Keyward is running');
      await visible(page.getByRole('link', { name: 'Sign in', exact: true }));
      expect(await page.getByText('Welcome').count()).toBe(0);

      // And the session is really gone: reloading does not bring "Welcome" back.
      await page.reload();
      await visible(page.getByRole('link', { name: 'Sign in', exact: true }));
      expect(cspViolations).toEqual([]);
    } finally {
      await context.close();
    }
  },
  TEST_TIMEOUT,
);

test(
  'a third-party client gets the consent page, and Allow returns a working code to its redirect URI',
  async () => {
    const { context, page, cspViolations } = await newPage();
    try {
      const verifier = randomBytes(32).toString('base64url');
      const state = randomBytes(12).toString('base64url');
      const url = new URL(`${k.issuer}/authorize`);
      url.search = new URLSearchParams({
        client_id: 'test-third',
        response_type: 'code',
        scope: 'openid profile email',
        redirect_uri: RP_CALLBACK,
        state,
        code_challenge: createHash('sha256').update(verifier).digest('base64url'),
        code_challenge_method: 'S256',
      }).toString();

      // The relying party lives on another site: its start page links to Keyward (a cross-site
      // navigation, as in real life), and its callback just answers "ok".
      await page.route('https://rp.example.test/**', (r) =>
        new URL(r.request().url()).pathname === '/start'
          ? r.fulfill({
              status: 200,
              contentType: 'text/html',
              body: `<!doctype html><title>RP</title><a href="${url.toString().replace(/&/g, '&amp;')}">Sign in with Keyward</a>`,
            })
          : r.fulfill({ status: 200, contentType: 'text/plain', body: 'ok' }),
      );

      await page.goto('https://rp.example.test/start');
      await page.getByRole('link', { name: 'Sign in with Keyward' }).click();
      await page.waitForURL(/\/interaction\/[^/]+$/);
      await visible(page.getByRole('heading', { level: 1, name: 'Sign in' }));
      await expectText(page.locator('.lead strong'), 'Third Party App');
      await submitSignIn(page, 'alice@example.com', PASSWORD);

      // Not first-party: the person is asked.
      await visible(page.getByRole('heading', { level: 1, name: 'Allow access?' }));
      await expectText(page.locator('.lead strong'), 'Third Party App');
      await visible(page.getByRole('listitem').first());
      const scopes = (await page.getByRole('listitem').allInnerTexts()).map((t) => t.trim());
      expect(scopes).toEqual([
        'Confirm your identity',
        'Read your name and username',
        'Read your email address',
      ]);
      await visible(page.getByRole('button', { name: 'Deny' }));
      await shot(page, 'consent.png');

      await page.getByRole('button', { name: 'Allow' }).click();
      await page.waitForURL((u) => u.href.startsWith(RP_CALLBACK));
      const callback = new URL(page.url());
      expect(callback.searchParams.get('error')).toBeNull();
      expect(callback.searchParams.get('code')).toBeTruthy();
      expect(callback.searchParams.get('state')).toBe(state);
      expect(callback.searchParams.get('iss')).toBe(k.issuer);
      await expectText(page.locator('body'), 'ok');
      expect(cspViolations).toEqual([]);

      // The code is real: the client redeems it with its secret and the PKCE verifier.
      const token = await fetch(`${k.issuer}/token`, {
        method: 'POST',
        headers: {
          authorization: `Basic ${Buffer.from(`test-third:${THIRD_SECRET}`).toString('base64')}`,
        },
        body: new URLSearchParams({
          grant_type: 'authorization_code',
          code: callback.searchParams.get('code')!,
          redirect_uri: RP_CALLBACK,
          code_verifier: verifier,
        }),
      });
      const body = (await token.json()) as {
        id_token?: string;
        access_token?: string;
        scope?: string;
      };
      expect(token.status).toBe(200);
      expect(body.id_token).toBeTruthy();
      expect(body.scope?.split(' ').sort()).toEqual(['email', 'openid', 'profile']);
    } finally {
      await context.close();
    }
  },
  TEST_TIMEOUT,
);
