/**
 * Adding, editing and deleting an organization's sign-in method on the admin page, in Chromium at
 * 1280×800 and 390×844, as an organization admin: "Add sign-in method" → OpenID Connect → a
 * mistake shown at its field → saved; linked to a member; edited (the secret stays blank); the
 * LDAP form and a failing "Test connection"; deleted after a dialog naming the linked members.
 * Every page passes axe and fits the phone (page-checks.ts); screenshots in /tmp/kw-pages-shots.
 */
import { mkdirSync } from 'node:fs';
import { type Browser } from 'playwright-core';
import {
  expectText,
  launchChromium,
  STEP_TIMEOUT,
  submitSignIn,
  visible,
} from '../helpers/chromium.ts';
import { createUser, PASSWORD, startKeyward, type Keyward } from '../helpers/keyward.ts';
import { SHOTS, check } from '../helpers/page-checks.ts';

const TEST_TIMEOUT = 120_000;
const SECRET = 'the-upstream-client-secret-4f9a';
let k: Keyward;
let browser: Browser;

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  browser = await launchChromium();
  k = await startKeyward();
  await createUser(k, 'dora', { org: 'acme', admin: true });
  await createUser(k, 'bobby', { org: 'acme' });
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
    `${vp.width}×${vp.height}: add, edit and delete a sign-in method`,
    async () => {
      const context = await browser.newContext({
        viewport: vp,
        deviceScaleFactor: 1,
        locale: 'en-US',
      });
      context.setDefaultTimeout(STEP_TIMEOUT);
      const page = await context.newPage();
      const cspViolations: string[] = [];
      page.on('console', (msg) => {
        if (msg.type() === 'error' && /Content Security Policy/i.test(msg.text()))
          cspViolations.push(msg.text());
      });
      const name = `acme-sso-${vp.width}`;
      try {
        await page.goto(`${k.baseUrl}/signin`);
        await submitSignIn(page, 'dora', PASSWORD);
        await page.waitForURL(`${k.baseUrl}/`);

        await page.goto(`${k.baseUrl}/account/admin/sign-in-methods`);
        await page.getByRole('link', { name: 'Add sign-in method' }).click();
        await visible(page.getByRole('heading', { level: 1, name: 'Add sign-in method' }));
        await check(page, vp.width, 'sign-in-method-new');
        await page.getByRole('link', { name: /OpenID Connect/ }).click();
        await visible(page.getByRole('heading', { level: 1, name: 'Add OpenID Connect' }));
        await expectText(page.locator('.lead'), /api\/auth\/sso\/oidc\/callback/);
        await check(page, vp.width, 'sign-in-method-oidc-form');

        await page.getByLabel('Name', { exact: true }).fill(name);
        await page.getByLabel('Shown as').fill('Acme SSO');
        await page.getByLabel('Issuer URL').fill('https://login.acme.example');
        await page.getByLabel('Client secret').fill(SECRET);
        await page.getByRole('button', { name: 'Add sign-in method' }).click();
        await expectText(page.locator('#clientId-error'), 'Client ID is required.');
        expect(await page.getByLabel('Issuer URL').inputValue()).toBe('https://login.acme.example'); // what was typed is kept…
        expect(await page.getByLabel('Client secret').inputValue()).toBe(''); // …but not the secret
        await check(page, vp.width, 'sign-in-method-oidc-error');
        await page.getByLabel('Client ID').fill('keyward');
        await page.getByLabel('Client secret').fill(SECRET);
        await page.getByRole('button', { name: 'Add sign-in method' }).click();
        await expectText(page.locator('.notice'), 'Sign-in method added.');
        await visible(page.locator('table.methods code', { hasText: name }));

        // Link a member's identity, so the delete dialog has someone to name.
        await page.getByLabel('Member').selectOption('bobby');
        await page.getByLabel('Method').selectOption(name);
        await page.getByLabel(/External id/).fill(`bobby-at-${vp.width}`);
        await page.getByRole('button', { name: 'Link', exact: true }).click();
        await expectText(page.locator('.notice'), 'Identity linked.');
        await check(page, vp.width, 'sign-in-methods-list');

        await page.getByRole('link', { name: `Edit ${name}` }).click();
        await visible(page.getByRole('heading', { level: 1, name: 'Edit Acme SSO' }));
        expect(await page.getByLabel('Client secret').inputValue()).toBe('');
        await expectText(page.locator('#clientSecret-help'), /Leave blank to keep it/);
        expect(await page.getByLabel('Client ID').inputValue()).toBe('keyward');
        expect(await page.content()).not.toContain(SECRET);
        await check(page, vp.width, 'sign-in-method-edit');
        await page.getByLabel('Shown as').fill('Acme Single Sign-On');
        await page.getByRole('button', { name: 'Save' }).click();
        await expectText(page.locator('.notice'), 'Sign-in method saved.');
        await visible(page.locator('table.methods td', { hasText: 'Acme Single Sign-On' }));

        await page.goto(`${k.baseUrl}/account/admin/sign-in-methods/acme/new/ldap`);
        await visible(page.getByRole('heading', { level: 1, name: 'Add LDAP directory' }));
        await page.getByLabel('Name', { exact: true }).fill(`corp-${vp.width}`);
        await page.getByLabel('Directory URL').fill('ldaps://127.0.0.1:636');
        await page.getByLabel('Base DN').fill('dc=acme,dc=test');
        await page.getByRole('button', { name: 'Test connection' }).click();
        await expectText(page.locator('#url-error'), /private or local address/);
        await check(page, vp.width, 'sign-in-method-ldap-test-failed');

        await page.goto(`${k.baseUrl}/account/admin/sign-in-methods`);
        await page.getByRole('button', { name: `Delete ${name}` }).click();
        const dialog = page.getByRole('dialog');
        await expectText(dialog, /The linked identities of 1 member are removed too\./);
        await check(page, vp.width, 'sign-in-method-delete-dialog');
        await dialog.getByRole('button', { name: 'Delete sign-in method' }).click();
        await expectText(
          page.locator('.notice'),
          'Sign-in method deleted, and the identities linked through it.',
        );
        expect(await page.locator('table.methods code', { hasText: name }).count()).toBe(0);
        expect(
          await k.db
            .collection('external_identities')
            .countDocuments({ externalId: `bobby-at-${vp.width}` }),
        ).toBe(0);
        expect(cspViolations).toEqual([]);
      } finally {
        await context.close();
      }
    },
    TEST_TIMEOUT,
  );
}
