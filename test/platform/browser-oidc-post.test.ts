/**
 * POST at /authorize and /end_session from another site, in a real browser (Chromium), where
 * SameSite decides which cookies travel. Over https the provider's session cookie is
 * SameSite=None; Secure, so a relying party's auto-submitted form reaches the person's existing
 * session (single sign-on, and logout of that session). Over plain http it stays SameSite=Lax
 * (browsers drop SameSite=None without Secure): the POST still works, but the person signs in again.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium, STEP_TIMEOUT, submitSignIn, visible } from '../helpers/chromium.ts';
import { createUser, freePort, PASSWORD, startKeyward, type Keyward } from '../helpers/keyward.ts';
import { RP_CALLBACK, RP_LOGOUT, testClients } from '../helpers/clients.ts';
import { serveHttps } from '../helpers/tls.ts';

const TEST_TIMEOUT = 120_000;
let browser: Browser;

beforeAll(async () => {
  browser = await launchChromium();
}, TEST_TIMEOUT);
afterAll(async () => browser?.close(), TEST_TIMEOUT);

/** A fresh profile in which `rpOrigin` is a relying party's site (served by the test) that auto-submits `form`. */
async function withRelyingParty(
  rpOrigin: string,
  run: (
    page: Page,
    context: BrowserContext,
    post: (action: string, fields: Record<string, string>) => Promise<void>,
  ) => Promise<void>,
) {
  const context = await browser.newContext({ ignoreHTTPSErrors: true, locale: 'en-US' });
  context.setDefaultTimeout(STEP_TIMEOUT);
  let pending = '';
  // The relying party's pages, on either scheme (its registered redirect URIs are https).
  await context.route(/^https?:\/\/rp\.example\.test\//, (route) => {
    const url = new URL(route.request().url());
    const body =
      url.pathname === '/post'
        ? pending
        : `<!doctype html><title>RP</title><p id="at">${url.pathname}${url.search}</p>`;
    return route.fulfill({ status: 200, contentType: 'text/html', body });
  });
  const page = await context.newPage();
  const post = async (action: string, fields: Record<string, string>) => {
    const inputs = Object.entries(fields)
      .map(
        ([n, v]) =>
          `<input type="hidden" name="${n}" value="${v.replace(/&/g, '&amp;').replace(/"/g, '&quot;')}">`,
      )
      .join('');
    pending = `<!doctype html><title>RP</title><form id="f" method="post" action="${action}">${inputs}</form><script>document.getElementById('f').submit()</script>`;
    await page.goto(`${rpOrigin}/post`);
  };
  try {
    await run(page, context, post);
  } finally {
    await context.close();
  }
}

const authorizeFields = (state: string) => ({
  client_id: 'test-web',
  response_type: 'code',
  redirect_uri: RP_CALLBACK,
  scope: 'openid profile',
  state,
  code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
  code_challenge_method: 'S256',
});

async function signInAtKeyward(page: Page, k: Keyward): Promise<void> {
  await page.goto(`${k.baseUrl}/signin`);
  await submitSignIn(page, 'alice', PASSWORD);
  await page.waitForURL(`${k.baseUrl}/`);
  await visible(page.getByRole('link', { name: 'Sign out', exact: true }));
}

test(
  'over https: a cross-site form POST to /authorize reaches the existing session, and one to /end_session signs it out',
  async () => {
    const port = await freePort();
    const k = await startKeyward({ clients: testClients, publicUrl: `https://127.0.0.1:${port}` });
    const tls = await serveHttps(k.container.app, port);
    try {
      await createUser(k, 'alice');
      await withRelyingParty('https://rp.example.test', async (page, context, post) => {
        await signInAtKeyward(page, k);
        const session = (await context.cookies(k.baseUrl)).find((c) => c.name === '_session');
        expect(session).toMatchObject({ sameSite: 'None', secure: true, httpOnly: true });

        await post(`${k.issuer}/authorize`, authorizeFields('sso'));
        await page.waitForURL((u) => u.href.startsWith(RP_CALLBACK));
        const callback = new URL(page.url());
        expect(callback.searchParams.get('state')).toBe('sso');
        expect(callback.searchParams.get('code')).toBeTruthy();

        await post(`${k.issuer}/end_session`, {
          client_id: 'test-web',
          post_logout_redirect_uri: RP_LOGOUT,
          state: 'bye',
        });
        await visible(page.getByRole('heading', { level: 1, name: 'Sign out?' }));
        await page.getByRole('button', { name: 'Yes, sign me out' }).click();
        await page.waitForURL(`${RP_LOGOUT}?state=bye`);
        await page.goto(`${k.baseUrl}/`);
        await visible(page.getByRole('link', { name: 'Sign in', exact: true }));
      });
    } finally {
      await tls.stop();
      await k.stop();
    }
  },
  TEST_TIMEOUT,
);

test(
  'over plain http: the session cookie stays Lax, so a cross-site form POST to /authorize asks to sign in again',
  async () => {
    const k = await startKeyward({ clients: testClients });
    try {
      await createUser(k, 'alice');
      await withRelyingParty('http://rp.example.test', async (page, context, post) => {
        await signInAtKeyward(page, k);
        const session = (await context.cookies(k.baseUrl)).find((c) => c.name === '_session');
        expect(session).toMatchObject({ sameSite: 'Lax', secure: false });

        await post(`${k.issuer}/authorize`, authorizeFields('again'));
        await page.waitForURL(/\/interaction\/[^/]+$/);
        await visible(page.getByRole('heading', { level: 1, name: 'Sign in' }));
        await submitSignIn(page, 'alice', PASSWORD);
        await page.waitForURL((u) => u.href.startsWith(RP_CALLBACK));
        expect(new URL(page.url()).searchParams.get('state')).toBe('again');
      });
    } finally {
      await k.stop();
    }
  },
  TEST_TIMEOUT,
);
