/**
 * The device pages in a real browser (Debian Chromium via playwright-core), with the default
 * configuration: sign in first, the code-entry page (a wrong code, then the right one typed
 * loosely), the confirmation page, the success page, and Account > Signed-in devices with its
 * confirm dialog. Each page is saved to test-artifacts/ to be looked at; CSP violations fail.
 */
import { type Browser } from 'playwright-core';
import { launchChromium, openPage, shot, submitSignIn } from '../helpers/chromium.ts';
import { createUser, PASSWORD, startKeyward, type Keyward } from '../helpers/keyward.ts';
import { pollOnce, startDevice } from '../helpers/device.ts';

const TIMEOUT = 120_000;

let k: Keyward;
let browser: Browser;

beforeAll(async () => {
  browser = await launchChromium();
  k = await startKeyward();
  await createUser(k, 'Alice', { org: 'acme' });
  await createUser(k, 'Bob', { org: 'strict' });
}, TIMEOUT);
afterAll(async () => {
  await browser?.close();
  await k?.stop();
}, TIMEOUT);

test(
  'sign in, enter the code, confirm, approve, then see and sign out the device',
  async () => {
    const { context, page, cspViolations: csp } = await openPage(browser, { height: 900 });
    try {
      const start = await startDevice(
        k.issuer,
        { device_name: 'Work laptop' },
        { 'user-agent': 'keyward-cli/0.1.0 (node 24.21.0; linux-x64)' },
      );
      expect(start.interval).toBe(5); // the default configuration

      // Not signed in: the sign-in page first, then back to the code entry.
      await page.goto(start.verification_uri);
      await submitSignIn(page, 'alice', PASSWORD);
      await page.waitForURL(`${k.issuer}/device`);
      await page.getByRole('heading', { level: 1, name: 'Connect a device' }).waitFor();
      expect(
        await page.getByLabel('Device code').evaluate((el) => el === document.activeElement),
      ).toBe(true);
      await page.getByText('Signed in as').waitFor();
      await shot(page, 'device-code-entry.png');

      await page.getByLabel('Device code').fill('BBBB-BBBB');
      await page.getByRole('button', { name: 'Continue' }).click();
      await page.getByRole('alert').filter({ hasText: 'That code is not valid.' }).waitFor();
      expect(await page.getByLabel('Device code').inputValue()).toBe('BBBB-BBBB');
      await shot(page, 'device-code-wrong.png');

      await page.getByLabel('Device code').fill(start.user_code.replace('-', ' ').toLowerCase());
      await page.getByRole('button', { name: 'Continue' }).click();
      await page.getByRole('heading', { level: 1, name: 'Sign in on this device?' }).waitFor();
      expect((await page.locator('.device-code').innerText()).trim()).toBe(start.user_code);
      const facts = await page.locator('.device-facts').innerText();
      for (const fact of [
        'Platform CLI',
        'Work laptop',
        '127.0.0.1',
        'keyward-cli/0.1.0',
        'just now',
        'Alice Example',
      ])
        expect(facts).toContain(fact);
      await page.getByRole('button', { name: 'Deny' }).waitFor();
      await shot(page, 'device-confirm.png');

      await page.getByRole('button', { name: 'Approve' }).click();
      await page.getByRole('heading', { level: 1, name: 'Device signed in' }).waitFor();
      await shot(page, 'device-approved.png');
      expect((await pollOnce(k.issuer, start.device_code)).status).toBe(200);

      await page.goto(`${k.baseUrl}/account/devices`);
      await page.getByRole('heading', { level: 1, name: 'Signed-in devices' }).waitFor();
      await page.locator('td.device-name', { hasText: 'Work laptop' }).waitFor();
      await shot(page, 'account-devices.png');
      await page.getByRole('button', { name: 'Sign out Work laptop' }).click();
      await page.getByRole('dialog').getByRole('button', { name: 'Sign out' }).click();
      await page.getByRole('status').filter({ hasText: 'The device was signed out.' }).waitFor();
      expect(await page.locator('td.device-name', { hasText: 'Work laptop' }).count()).toBe(0);
      await shot(page, 'account-devices-signed-out.png');
      expect(csp).toEqual([]);
    } finally {
      await context.close();
    }
  },
  TIMEOUT,
);

test(
  'the "too many attempts" and "not allowed by policy" pages',
  async () => {
    await k.container.policies.set(
      `org:${(await k.container.organizations.findByName('strict'))!.id}`,
      'disable-device-login',
      true,
    );
    const { context, page } = await openPage(browser, { height: 760 });
    try {
      await page.goto(`${k.issuer}/device`);
      await submitSignIn(page, 'bob', PASSWORD);
      await page.waitForURL(`${k.issuer}/device`);

      const start = await startDevice(k.issuer, { device_name: 'Build server' });
      await page.getByLabel('Device code').fill(start.user_code);
      await page.getByRole('button', { name: 'Continue' }).click();
      await page
        .getByRole('heading', { level: 1, name: 'Device sign\u2011in is not allowed' })
        .waitFor();
      await shot(page, 'device-refused.png');
      await k.container.policies.clear(
        `org:${(await k.container.organizations.findByName('strict'))!.id}`,
        'disable-device-login',
      );

      await page.goto(`${k.issuer}/device`);
      // (Alice's wrong code in the first test came from the same IP, so fewer than 5 may be left.)
      for (let i = 0; i < 5 && (await page.getByLabel('Device code').count()); i++) {
        await page.getByLabel('Device code').fill('BBBB-BBBB');
        await page.getByRole('button', { name: 'Continue' }).click();
        await page.waitForLoadState();
      }
      await page.getByRole('heading', { level: 1, name: 'Too many attempts' }).waitFor();
      await shot(page, 'device-too-many-attempts.png');
    } finally {
      await context.close();
    }
  },
  TIMEOUT,
);
