/**
 * The pages the passkey and sign-in-method features add, held to the account area's bar in
 * Chromium at 1280×800 and 390×844: axe-core finds no serious or critical violation and nothing
 * scrolls sideways. Walked as an organization admin: the organization's methods step on the
 * sign-in page, Passkeys (under 2-Step Verification), Linked identities and the organization's
 * Sign-in methods. Screenshots: /tmp/kw-pages-shots/<width>-<page>.png.
 */
import { mkdirSync } from 'node:fs';
import { type Browser } from 'playwright-core';
import { launchChromium, STEP_TIMEOUT, submitSignIn, visible } from '../helpers/chromium.ts';
import { createUser, PASSWORD, startKeyward, type Keyward } from '../helpers/keyward.ts';
import { SHOTS, check } from '../helpers/page-checks.ts';

const TEST_TIMEOUT = 120_000;
let k: Keyward;
let browser: Browser;

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  browser = await launchChromium();
  k = await startKeyward();
  await createUser(k, 'dora', { org: 'acme', admin: true });
}, TEST_TIMEOUT);

afterAll(async () => {
  await browser?.close();
  await k?.stop();
}, TEST_TIMEOUT);

for (const vp of [
  { width: 1280, height: 800 },
  { width: 390, height: 844 },
]) {
  test(
    `${vp.width}×${vp.height}: methods step, passkeys, linked identities and sign-in methods pass axe and fit`,
    async () => {
      const context = await browser.newContext({
        viewport: vp,
        deviceScaleFactor: 1,
        locale: 'en-US',
      });
      context.setDefaultTimeout(STEP_TIMEOUT);
      const page = await context.newPage();
      try {
        await page.goto(`${k.baseUrl}/signin`);
        await page.getByLabel('Username or email').fill('dora');
        await page.getByRole('button', { name: 'Sign in with your organization' }).click();
        await page.waitForLoadState('load');
        await check(page, vp.width, 'sign-in-methods-step');

        await page.goto(`${k.baseUrl}/signin`);
        await submitSignIn(page, 'dora', PASSWORD);
        await page.waitForURL(`${k.baseUrl}/`);

        await page.goto(`${k.baseUrl}/account/mfa`);
        await page.getByRole('link', { name: 'Manage passkeys' }).click();
        await visible(page.getByRole('heading', { level: 1, name: 'Passkeys' }));
        await check(page, vp.width, 'passkeys');

        await page.goto(`${k.baseUrl}/account/identities`);
        await page.waitForLoadState('load');
        await check(page, vp.width, 'linked-identities');

        await page.goto(`${k.baseUrl}/account/admin/sign-in-methods`);
        await page.waitForLoadState('load');
        await check(page, vp.width, 'admin-sign-in-methods');
      } finally {
        await context.close();
      }
    },
    TEST_TIMEOUT,
  );
}
