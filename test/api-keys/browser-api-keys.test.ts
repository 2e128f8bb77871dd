/**
 * A real browser (Chromium via playwright-core) on Account > Authentication > API Keys: add a key
 * with a name and an expiration, see it once with a copy button and a warning, copy it, use it
 * from the test against the API, see it gone after a reload, delete it through the "Delete API
 * Key" dialog and watch it fail; generate a CLI token the same way. Screenshots go to
 * test-artifacts/ (api-keys-new-key.png, api-keys-delete-dialog.png, api-keys-list.png).
 */
import { type Browser } from 'playwright-core';
import { launchChromium, openPage, shot, visible, submitSignIn } from '../helpers/chromium.ts';
import { createUser, PASSWORD, startKeyward, type Keyward } from '../helpers/keyward.ts';
import { basic, bearer, call, KEY_PATTERN, TOKEN_PATTERN } from '../helpers/api-keys.ts';

const TEST_TIMEOUT = 120_000;

let k: Keyward;
let browser: Browser;

beforeAll(async () => {
  browser = await launchChromium();
  k = await startKeyward();
  await createUser(k, 'alice', { org: 'acme' });
}, TEST_TIMEOUT);

afterAll(async () => {
  await browser?.close();
  await k?.stop();
}, TEST_TIMEOUT);

test(
  'add a key, copy it once, use it, delete it through the dialog, see it fail',
  async () => {
    const { context, page, cspViolations } = await openPage(browser, {
      height: 900,
      clipboardOrigin: k.baseUrl,
    });
    try {
      // Signed out: the page sends us to sign in and back.
      await page.goto(`${k.baseUrl}/account/api-keys`);
      await submitSignIn(page, 'alice', PASSWORD);
      await page.waitForURL(`${k.baseUrl}/account/api-keys`);
      await visible(page.getByRole('heading', { level: 1, name: 'API Keys' }));
      await visible(
        page
          .getByRole('navigation', { name: 'Authentication' })
          .getByRole('link', { name: 'API Keys' }),
      );
      await visible(page.getByText('No API keys or tokens yet.'));

      // Add Key opens the form: name and expiration (7/30/60/90 days under the default 730-day maximum; No expiration only when Unlimited).
      await page.getByRole('link', { name: 'Add Key' }).click();
      await page.getByLabel('Key Name').fill('laptop');
      const options = await page.getByLabel('Expiration').first().locator('option').allInnerTexts();
      expect(options).toEqual(['7 days', '30 days', '60 days', '90 days']);
      await page.getByLabel('Expiration').first().selectOption('30');
      await page.getByRole('button', { name: 'Add Key' }).click();

      // Shown once, with a copy button and a warning.
      const secret = page.locator('#new-secret');
      await visible(secret);
      await visible(page.getByText('It will not be shown again', { exact: false }));
      const shown = (await secret.innerText()).trim();
      expect(shown).toMatch(KEY_PATTERN);
      await page.getByRole('button', { name: 'Copy' }).click();
      await visible(page.getByRole('button', { name: 'Copied' }));
      const key = await page.evaluate(() => navigator.clipboard.readText());
      expect(key).toBe(shown);
      await shot(page, 'api-keys-new-key.png');

      // The copied key works against the API.
      expect(await call(k.baseUrl, '/api/auth/whoami', basic(key))).toMatchObject({
        status: 200,
        text: 'user:alice',
      });

      // After a reload the key is gone for good; the list shows name, type, dates and a hint.
      await page.goto(`${k.baseUrl}/account/api-keys`);
      expect(await page.locator('#new-secret').count()).toBe(0);
      expect(await page.content()).not.toContain(key.split('.')[1]);
      const row = page.getByRole('row', { name: /laptop/ });
      await visible(row);
      const cells = (await row.getByRole('cell').allInnerTexts()).map((t) => t.trim());
      expect(cells[0]).toBe('laptop');
      expect(cells[1]).toBe('API key');
      expect(cells[3]).toMatch(/^\d{4}-\d{2}-\d{2}\s\d{2}:\d{2}\sUTC$/);
      expect(cells[4]).toMatch(/UTC$/); // used a moment ago
      expect(cells[5]).toBe(`pwt_…${key.slice(-4)}`);

      // Generate a CLI token (2 hours).
      await page.getByRole('link', { name: 'Generate Token' }).click();
      await page.locator('#token-ttl').selectOption('2');
      await page.getByRole('button', { name: 'Add Token' }).click();
      await visible(secret);
      const token = (await secret.innerText()).trim();
      expect(token).toMatch(TOKEN_PATTERN);
      expect((await call(k.baseUrl, '/api/auth/whoami', bearer(token))).text).toBe('user:alice');
      await page.goto(`${k.baseUrl}/account/api-keys`);
      await visible(page.getByRole('row', { name: /CLI token/ }));
      await shot(page, 'api-keys-list.png');

      // Delete through the confirm dialog: Cancel keeps it, Delete removes it.
      await row.getByRole('button', { name: 'Delete laptop' }).click();
      const dialog = page.getByRole('dialog');
      await visible(dialog.getByRole('heading', { name: 'Delete API Key' }));
      await shot(page, 'api-keys-delete-dialog.png');
      await dialog.getByRole('button', { name: 'Cancel' }).click();
      expect(await call(k.baseUrl, '/api/auth/whoami', basic(key))).toMatchObject({ status: 200 });
      await row.getByRole('button', { name: 'Delete laptop' }).click();
      await page.getByRole('dialog').getByRole('button', { name: 'Delete API Key' }).click();
      await page.waitForURL(`${k.baseUrl}/account/api-keys?done=deleted`);
      await visible(page.getByRole('status').filter({ hasText: 'Deleted' }));
      expect(await page.getByRole('row', { name: /laptop/ }).count()).toBe(0);

      const after = await call(k.baseUrl, '/api/auth/whoami', basic(key));
      expect(after.status).toBe(401);
      expect(after.json().message).toMatch(/deleted or never existed/);
      expect(cspViolations).toEqual([]);
    } finally {
      await context.close();
    }
  },
  TEST_TIMEOUT,
);

test(
  'form errors stay on the page: a duplicate name is reported with the name kept',
  async () => {
    const { context, page } = await openPage(browser, { height: 900 });
    try {
      await page.goto(`${k.baseUrl}/account/api-keys`);
      await submitSignIn(page, 'alice', PASSWORD);
      await page.waitForURL(`${k.baseUrl}/account/api-keys`);
      for (let i = 0; i < 2; i++) {
        await page.getByRole('link', { name: 'Add Key' }).click();
        await page.getByLabel('Key Name').fill('twice');
        await page.getByRole('button', { name: 'Add Key' }).click();
        await page.waitForLoadState();
      }
      await visible(
        page
          .getByRole('alert')
          .filter({ hasText: 'already have an API key or token named "twice"' }),
      );
      expect(await page.getByLabel('Key Name').inputValue()).toBe('twice');
      expect(await page.locator('#new-secret').count()).toBe(0);
      await shot(page, 'api-keys-duplicate.png');
    } finally {
      await context.close();
    }
  },
  TEST_TIMEOUT,
);
