/**
 * The platform documentation's "Account settings > Authentication" tasks walked in Chromium by
 * their visible labels, on a laptop (1280×800) and a phone (390×844): Username > Account, the
 * Authentication section and its tabs, Add Key / Generate Token with the secret shown once (gone
 * on refresh), the "Delete API Key" dialog, SSH keys, SSH private keys with the "created" dialog,
 * 2-step verification from "Use Authenticator" to "Turn off 2-Step Verification"; the skip link;
 * the 404 page. On every page: axe-core finds no serious or critical violation and, on the phone,
 * nothing scrolls sideways. Screenshots: /tmp/kw-pages-shots/<width>-<page>.png.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, type Page } from 'playwright-core';
import {
  launchChromium,
  STEP_TIMEOUT,
  submitSignIn,
  visible,
  expectText,
} from '../helpers/chromium.ts';
import { createUser, PASSWORD, startKeyward, type Keyward } from '../helpers/keyward.ts';
import { basic, call, KEY_PATTERN, TOKEN_PATTERN } from '../helpers/api-keys.ts';
import { KeyDir } from '../helpers/ssh.ts';
import { alignClock, api, oathtool } from '../helpers/mfa.ts';
import { signedInBrowser } from '../helpers/browserless.ts';
import { SHOTS, check } from '../helpers/page-checks.ts';

const TEST_TIMEOUT = 240_000;

let k: Keyward;
let browser: Browser;
const kd = new KeyDir();

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  browser = await launchChromium();
  k = await startKeyward();
  await createUser(k, 'laptop-user', { org: 'acme' });
  await createUser(k, 'phone-user', { org: 'acme' });
  await createUser(k, 'ada', { org: 'acme', admin: true });
  await createUser(k, 'otto', { org: 'acme' });
  await createUser(k, 'enya', { org: 'strict' });
}, TEST_TIMEOUT);

afterAll(async () => {
  await browser?.close();
  await k?.stop();
  kd.remove();
}, TEST_TIMEOUT);

const VIEWPORTS = [
  { name: 'desktop', width: 1280, height: 800, user: 'laptop-user' },
  { name: 'phone', width: 390, height: 844, user: 'phone-user' },
] as const;

/** On the phone the navigation is collapsed behind its menu button. */
async function navLink(page: Page, label: string) {
  const nav = page.getByRole('navigation', { name: 'Account' });
  const toggle = nav.locator('.nav-toggle');
  if (await toggle.isVisible()) {
    expect(await nav.getByRole('link', { name: label, exact: true }).isVisible()).toBe(false);
    await toggle.click();
  }
  return nav.getByRole('link', { name: label, exact: true });
}

const inViewport = async (page: Page, selector: string, height: number) => {
  const box = await page.locator(selector).boundingBox();
  return box !== null && box.y >= 0 && box.y + box.height <= height;
};

for (const vp of VIEWPORTS) {
  test(
    `${vp.name} ${vp.width}×${vp.height}: the documented tasks by their labels, one-time secrets, axe and no sideways scrolling`,
    async () => {
      const context = await browser.newContext({
        viewport: { width: vp.width, height: vp.height },
        deviceScaleFactor: 1,
        locale: 'en-US',
        timezoneId: 'Europe/Paris',
      });
      context.setDefaultTimeout(STEP_TIMEOUT);
      await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: k.baseUrl });
      const page = await context.newPage();
      const cspViolations: string[] = [];
      page.on('console', (msg) => {
        if (msg.type() === 'error' && /Content Security Policy/i.test(msg.text()))
          cspViolations.push(msg.text());
      });
      try {
        // Sign in from the home page; the sign-in page passes axe too.
        await page.goto(`${k.baseUrl}/`);
        await page.getByRole('link', { name: 'Sign in', exact: true }).click();
        await visible(page.getByLabel('Username or email'));
        await check(page, vp.width, 'sign-in');
        await submitSignIn(page, vp.user, PASSWORD);
        await page.waitForURL(`${k.baseUrl}/`);

        // Username > Account.
        await check(page, vp.width, 'home');
        await page.getByRole('banner').getByText(vp.user, { exact: true }).click();
        await page.getByRole('link', { name: 'Account', exact: true }).click();
        await page.waitForURL(`${k.baseUrl}/account`);
        await visible(page.getByRole('heading', { level: 1, name: 'Profile' }));
        expect(await page.getByRole('link', { name: 'Organization' }).count()).toBe(0); // not an admin
        await check(page, vp.width, 'profile');

        // The skip link is the first thing the keyboard reaches, and skips past the navigation.
        await page.keyboard.press('Tab');
        await expectText(page.locator(':focus'), 'Skip to main content');
        await page.keyboard.press('Enter');
        expect(await page.evaluate(() => document.activeElement?.id)).toBe('main-content');

        // Account > Authentication: API Keys, SSH Keys, 2-Step Verification (Off), in that order.
        await (await navLink(page, 'Authentication')).click();
        await page.waitForURL(`${k.baseUrl}/account/authentication`);
        const sections = page.locator('.section-list .section-link strong');
        expect(await sections.allInnerTexts()).toEqual([
          'API Keys',
          'SSH Keys',
          '2-Step Verification',
        ]);
        await expectText(
          page.locator('.section-link').filter({ hasText: '2-Step Verification' }).locator('.pill'),
          'Off',
        );
        await check(page, vp.width, 'authentication');

        // API Keys: Add Key opens the form (Key Name, Expiration, Add Key).
        await page
          .locator('.section-list')
          .getByRole('link', { name: /^API Keys/ })
          .click();
        await page.waitForURL(`${k.baseUrl}/account/api-keys`);
        await visible(
          page
            .getByRole('navigation', { name: 'Authentication' })
            .getByRole('link', { name: 'API Keys' }),
        );
        await check(page, vp.width, 'api-keys-empty');
        await page.getByRole('link', { name: 'Add Key' }).click();
        await page.getByLabel('Key Name').fill('laptop');
        expect(await page.getByLabel('Expiration').locator('option').allInnerTexts()).toEqual([
          '7 days',
          '30 days',
          '60 days',
          '90 days',
        ]);
        await page.getByLabel('Expiration').selectOption('30');
        await check(page, vp.width, 'api-keys-add-form');
        await page.getByRole('button', { name: 'Add Key' }).click();
        await page.waitForURL(`${k.baseUrl}/account/api-keys`);
        const secret = page.locator('#new-secret');
        await visible(secret);
        const key = (await secret.innerText()).trim();
        expect(key).toMatch(KEY_PATTERN);
        await visible(
          page.getByText(
            "Once you refresh or navigate away from this page, you won't be able to see the key again.",
            { exact: false },
          ),
        );
        expect(await inViewport(page, '#new-secret', vp.height)).toBe(true); // scrolled into view, also on the phone
        await page.screenshot({ path: join(SHOTS, `${vp.width}-api-keys-new-key-viewport.png`) });
        await page.getByRole('button', { name: 'Copy' }).click();
        expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(key);
        await check(page, vp.width, 'api-keys-new-key');
        expect((await call(k.baseUrl, '/api/auth/whoami', basic(key))).text).toBe(
          `user:${vp.user}`,
        );

        // A refresh: the key is gone, and no second key was created.
        await page.reload();
        expect(await page.locator('#new-secret').count()).toBe(0);
        expect(await page.content()).not.toContain(key.split('.')[1]);
        expect(await page.getByRole('row').filter({ hasText: 'laptop' }).count()).toBe(1);

        // Generate Token: Expiration 1–24 hours, Add Token.
        await page.getByRole('link', { name: 'Generate Token' }).click();
        const hours = await page.getByLabel('Expiration').locator('option').allInnerTexts();
        expect([hours[0], hours[hours.length - 1], hours.length]).toEqual([
          '1 hour',
          '24 hours',
          24,
        ]);
        await page.getByLabel('Expiration').selectOption('2');
        await page.getByRole('button', { name: 'Add Token' }).click();
        await page.waitForURL(`${k.baseUrl}/account/api-keys`);
        expect((await page.locator('#new-secret').innerText()).trim()).toMatch(TOKEN_PATTERN);
        await page.reload();
        expect(await page.locator('#new-secret').count()).toBe(0);
        await check(page, vp.width, 'api-keys-list');

        // Delete through the "Delete API Key" dialog.
        await page.getByRole('button', { name: 'Delete laptop' }).click();
        const dialog = page.getByRole('dialog');
        await expectText(dialog.getByRole('heading'), 'Delete API Key');
        await check(page, vp.width, 'api-keys-delete-dialog');
        await dialog.getByRole('button', { name: 'Delete API Key' }).click();
        await page.waitForURL(`${k.baseUrl}/account/api-keys?done=deleted`);
        expect((await call(k.baseUrl, '/api/auth/whoami', basic(key))).status).toBe(401);

        // SSH Keys tab: Add Key with Key Name and Key; the copy (clipboard) button.
        await page
          .getByRole('navigation', { name: 'Authentication' })
          .getByRole('link', { name: 'SSH Keys' })
          .click();
        await page.waitForURL(`${k.baseUrl}/account/ssh-keys`);
        const ssh = await kd.generate('ed25519');
        await page.getByLabel('Key Name').fill('Work laptop');
        await page.getByLabel('Key', { exact: true }).fill(`${ssh.publicKey.slice(0, 30)}!!broken`);
        await page.getByRole('button', { name: 'Add Key' }).click();
        await visible(page.locator('#key-error'));
        expect(await page.getByLabel('Key', { exact: true }).inputValue()).toBe(
          `${ssh.publicKey.slice(0, 30)}!!broken`,
        ); // kept, to correct
        await check(page, vp.width, 'ssh-keys-error');
        await page.getByLabel('Key', { exact: true }).fill(ssh.publicKey);
        await page.getByRole('button', { name: 'Add Key' }).click();
        await expectText(page.getByRole('status'), 'SSH key added.');
        await page.getByRole('button', { name: 'Copy the public key Work laptop' }).click();
        expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(ssh.publicKey);
        await check(page, vp.width, 'ssh-keys');

        // SSH Private Keys: New SSH Private Key, Name, Description, Remote Resource SSH Private Key, Create SSH Private Key.
        await (await navLink(page, 'SSH Private Keys')).click();
        await page.waitForURL(`${k.baseUrl}/account/ssh-private-keys`);
        await page.getByRole('link', { name: 'New SSH Private Key' }).click();
        await page.getByLabel('Name', { exact: true }).fill('hpc-archive');
        await page.getByLabel('Description').fill('Archive cluster at the lab');
        await page
          .getByLabel('Remote Resource SSH Private Key')
          .fill((await kd.generate('ed25519')).privateKey);
        await check(page, vp.width, 'ssh-private-keys-form');
        await page.getByRole('button', { name: 'Create SSH Private Key' }).click();
        const created = page.getByRole('dialog');
        await expectText(created.getByRole('heading'), 'SSH Private Key created successfully');
        await check(page, vp.width, 'ssh-private-keys-created');
        await created.getByRole('button', { name: 'Close' }).click();
        const row = page.getByRole('row').filter({ hasText: 'hpc-archive' });
        await visible(row.getByText('Archive cluster at the lab'));
        await visible(row.locator('time'));
        await row.getByRole('button', { name: 'Delete hpc-archive' }).click();
        await visible(page.getByRole('dialog').getByRole('button', { name: 'Delete credentials' }));
        await page.getByRole('dialog').getByRole('button', { name: 'Cancel' }).click();

        // 2-Step Verification: Manage MFA Settings > Authenticator app > Use Authenticator.
        await (await navLink(page, 'Authentication')).click();
        await page
          .locator('.section-list')
          .getByRole('link', { name: /^2-Step Verification/ })
          .click();
        await visible(page.getByRole('heading', { level: 1, name: 'Manage MFA Settings' }));
        await visible(page.getByRole('heading', { level: 2, name: 'Authenticator app' }));
        await check(page, vp.width, 'mfa');
        await page.getByRole('link', { name: 'Use Authenticator' }).click();
        await visible(page.getByRole('heading', { level: 1, name: 'Setup Authenticator App' }));
        await visible(page.getByRole('img', { name: /QR code/ }));
        await page.getByText("Can't scan the QR code?").click();
        const otpSecret = (await page.locator('#otp-secret').innerText()).replace(/\s+/g, '');
        await check(page, vp.width, 'mfa-setup');
        await page
          .getByLabel('Verification code')
          .fill(
            '000000' === oathtool(otpSecret, Math.floor((Date.now() + k.clock.offsetMs) / 1000))
              ? '111111'
              : '000000',
          );
        await page.getByRole('button', { name: 'Enable 2FA' }).click();
        await expectText(
          page.getByRole('alert'),
          /^That code is not valid\. Enter the code your authenticator app shows now/,
        );
        expect(await page.getByRole('alert').innerText()).not.toMatch(/recovery/i);
        k.clock.offsetMs += 30_000;
        await page
          .getByLabel('Verification code')
          .fill(oathtool(otpSecret, Math.floor((Date.now() + k.clock.offsetMs) / 1000)));
        await page.getByRole('button', { name: 'Enable 2FA' }).click();
        const done = page.getByRole('dialog');
        await expectText(done.getByRole('heading', { level: 2 }).first(), 'MFA setup successful');
        const codes = (await page.locator('#recovery-codes').innerText())
          .split('\n')
          .filter((c) => c.trim());
        expect(codes.length).toBeGreaterThanOrEqual(8);
        await check(page, vp.width, 'mfa-setup-successful');
        await done.getByRole('button', { name: 'Done' }).click();
        await page.reload(); // the recovery codes were shown once
        expect(await page.locator('#recovery-codes').count()).toBe(0);
        expect(await page.content()).not.toContain(codes[0].trim());
        await expectText(page.locator('[data-mfa-status]'), 'On');

        // Remove Authenticator app and Turn Off are offered (no policy forbids them): Turn Off → Turn off 2-Step Verification.
        await visible(page.getByRole('button', { name: 'Remove Authenticator app' }));
        await page.getByRole('button', { name: 'Turn Off' }).click();
        await expectText(
          page.getByRole('dialog').getByRole('heading'),
          'Turn off 2-Step Verification?',
        );
        await check(page, vp.width, 'mfa-turn-off-dialog');
        await page
          .getByRole('dialog')
          .getByRole('button', { name: 'Turn off 2-Step Verification' })
          .click();
        // Sudo mode: this sign-in had no second factor, so "Confirm it's you" first, then back.
        await page.waitForURL((u) => u.pathname === '/account/verify');
        await check(page, vp.width, 'verify');
        k.clock.offsetMs += 30_000;
        await page
          .getByLabel('Authenticator code')
          .fill(oathtool(otpSecret, Math.floor((Date.now() + k.clock.offsetMs) / 1000)));
        await page.getByRole('button', { name: 'Verify', exact: true }).click();
        await page.waitForURL(`${k.baseUrl}/account/mfa`);
        await page.getByRole('button', { name: 'Turn Off' }).click();
        await page
          .getByRole('dialog')
          .getByRole('button', { name: 'Turn off 2-Step Verification' })
          .click();
        await page.waitForURL(`${k.baseUrl}/account/mfa?done=off`);
        await expectText(page.locator('[data-mfa-status]'), 'Off');

        // Security: events in words and signed-in devices.
        await (await navLink(page, 'Security events')).click();
        await visible(
          page
            .getByText('Authenticator app verified', { exact: false })
            .or(page.getByText('Second factor added'))
            .first(),
        );
        await check(page, vp.width, 'security-events');
        await (await navLink(page, 'Signed-in devices')).click();
        await check(page, vp.width, 'devices');

        // The 404 page: words, and a way back.
        await page.goto(`${k.baseUrl}/account/no-such-page`);
        await visible(page.getByRole('heading', { level: 1, name: 'Page not found' }));
        await check(page, vp.width, '404');
        await page.getByRole('link', { name: 'Go to your account' }).click();
        await page.waitForURL(`${k.baseUrl}/account`);
        expect(cspViolations).toEqual([]);
      } finally {
        await context.close();
      }
    },
    TEST_TIMEOUT,
  );
}

test(
  'the organization page for an admin, on both widths: axe, no sideways scrolling, the lock-out warning',
  async () => {
    for (const vp of VIEWPORTS) {
      const context = await browser.newContext({
        viewport: { width: vp.width, height: vp.height },
        deviceScaleFactor: 1,
        locale: 'en-US',
      });
      context.setDefaultTimeout(STEP_TIMEOUT);
      const page = await context.newPage();
      try {
        await page.goto(`${k.baseUrl}/account/admin`);
        await submitSignIn(page, 'ada', PASSWORD);
        await page.waitForURL(`${k.baseUrl}/account/admin`);
        await visible(page.getByText('Sign-in security', { exact: true }));
        await check(page, vp.width, 'admin');
        const height = await page.evaluate(() => document.documentElement.scrollHeight);
        expect(height).toBeLessThan(vp.width > 800 ? 2100 : 4500); // it was 2,100 px on a laptop, 4,500 on a phone
        await page.getByLabel('Enforce Security Key MFA').selectOption('hardware');
        await page.getByRole('button', { name: 'Save sign-in security' }).click();
        await visible(page.getByRole('alert').filter({ hasText: 'You have no security key yet' }));
        await visible(page.getByRole('link', { name: 'Register a security key first' }));
        await check(page, vp.width, 'admin-lockout-warning');
      } finally {
        await context.close();
      }
    }
  },
  TEST_TIMEOUT,
);

test(
  'the sign-in steps on both widths: the second step (app, recovery code) and enrolment pass axe without sideways scrolling',
  async () => {
    // otto has an authenticator app; the "strict" organization requires 2-step verification of enya, who has none.
    const otto = await signedInBrowser(k.baseUrl, 'otto', PASSWORD);
    const setup = await api(otto, k.baseUrl, 'POST', '/api/sso/mfa/otp');
    expect(
      (
        await api(otto, k.baseUrl, 'POST', '/api/sso/mfa/otp/verify', {
          code: oathtool(setup.body.secret, alignClock(k)),
        })
      ).status,
    ).toBeLessThan(300);
    const strict = (await k.container.organizations.findByName('strict'))!;
    await k.container.policies.set(`org:${strict.id}`, 'enforce-mfa', true);
    for (const vp of VIEWPORTS) {
      const context = await browser.newContext({
        viewport: { width: vp.width, height: vp.height },
        deviceScaleFactor: 1,
        locale: 'en-US',
      });
      context.setDefaultTimeout(STEP_TIMEOUT);
      const page = await context.newPage();
      try {
        await page.goto(`${k.baseUrl}/signin`);
        await submitSignIn(page, 'otto', PASSWORD);
        await page.waitForURL(/\/interaction\/[^/]+\/mfa$/);
        await visible(page.getByLabel('Authenticator code'));
        await check(page, vp.width, 'sign-in-second-step');
        await page.getByRole('link', { name: 'Use a recovery code' }).click();
        await page.waitForURL(/method=recovery$/);
        await check(page, vp.width, 'sign-in-recovery-code');
        await context.clearCookies();
        await page.goto(`${k.baseUrl}/signin`);
        await submitSignIn(page, 'enya', PASSWORD);
        await page.waitForURL(/\/interaction\/[^/]+\/mfa\/enroll$/);
        await check(page, vp.width, 'sign-in-enrol');
      } finally {
        await context.close();
      }
    }
  },
  TEST_TIMEOUT,
);
