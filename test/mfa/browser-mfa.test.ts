/**
 * 2-step verification in a real browser (Chromium via playwright-core) with a virtual security key
 * (Chrome DevTools Protocol `WebAuthn.addVirtualAuthenticator`):
 *   1. sign in, Account > 2-Step Verification, set up an authenticator app from the QR page
 *      ("Can't scan the QR code?" reveals the key; codes come from `oathtool`, not otplib);
 *   2. register a named security key on "Manage MFA Settings" (sudo mode sends us to "Confirm
 *      it's you" first), sign out, sign in again: after the password the second step asks for a
 *      factor; "Use a security key" signs in with the key (amr pwd + hwk + mfa);
 *   3. after the sudo window has passed, "Confirm it's you" with the key; remove the key and the
 *      authenticator app through their confirm dialogs, set the app up again and "Turn Off"
 *      2-step verification: the status row shows Off;
 *   4. an organization enforcing 2-step verification: a member without a factor is taken to
 *      enrolment at sign-in and registers a security key there (recovery codes, then signed in).
 * The page talks to Keyward on exactly its public origin, http://localhost:PORT, whose hostname is
 * the WebAuthn relying-party id (browsers refuse IP addresses such as 127.0.0.1 as RP ids).
 * Screenshots go to test-artifacts/mfa-*.png.
 */
import { join } from 'node:path';
import {
  type Browser,
  type BrowserContext,
  type CDPSession,
  type Locator,
  type Page,
} from 'playwright-core';
import {
  addVirtualAuthenticator,
  ARTIFACTS,
  launchChromium,
  openPage,
  shot as screenshot,
  visible,
  expectText,
  submitSignIn,
} from '../helpers/chromium.ts';
import { createUser, PASSWORD, startKeyward, type Keyward } from '../helpers/keyward.ts';
import { oathtool } from '../helpers/mfa.ts';

const TEST_TIMEOUT = 120_000;

let k: Keyward;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let cdp: CDPSession;
let authenticatorId: string;
let secret = '';
let cspViolations: string[] = [];

beforeAll(async () => {
  browser = await launchChromium();
  // WebAuthn refuses an IP address as relying-party id ("This is an invalid domain"), so Keyward's
  // public URL is the default http://localhost:PORT here (a secure context, like https), not the
  // helper's http://127.0.0.1:PORT. The RP id is that hostname, and the page must be on that origin.
  k = await startKeyward({ publicUrl: undefined });
  expect(k.baseUrl).toMatch(/^http:\/\/localhost:\d+$/);
  await createUser(k, 'dana');
  ({ context, page, cspViolations } = await openPage(browser));
  ({ cdp, authenticatorId } = await addVirtualAuthenticator(context, page));
}, TEST_TIMEOUT);

afterAll(async () => {
  await context?.close();
  await browser?.close();
  await k?.stop();
}, TEST_TIMEOUT);

/** Full-page screenshot; `viewport` for modal dialogs (their backdrop covers the viewport only). */
const shot = (name: string, viewport = false) =>
  page.screenshot({ path: join(ARTIFACTS, name), fullPage: !viewport });

/**
 * A code for a new 30 s step: each code is accepted once, so the server's clock moves on a step
 * first. Computed by oathtool at the server's time.
 */
function freshCode(): string {
  k.clock.offsetMs += 30_000;
  return oathtool(secret, Math.floor((Date.now() + k.clock.offsetMs) / 1000));
}

/** The account's factors as the REST API reports them, fetched by the page with its session. */
async function mfaSettings(): Promise<{
  enabled: boolean;
  recoveryCodesLeft: number;
  mfaSettings: { type: string; name: string; lastUsedAt?: string }[];
}> {
  return page.evaluate(async () => {
    const res = await fetch('/api/sso/mfa', { headers: { accept: 'application/json' } });
    if (!res.ok) throw new Error(`GET /api/sso/mfa: ${res.status}`);
    return res.json();
  });
}

async function credentials(): Promise<{ signCount: number }[]> {
  return (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials;
}

/** Clicks the submit button of a form guarded by a confirm dialog, checks the dialog, confirms. */
async function confirmDialog(trigger: Locator, title: string, action: string): Promise<void> {
  await trigger.click();
  const dialog = page.getByRole('dialog');
  await visible(dialog);
  await expectText(dialog.getByRole('heading'), title);
  await dialog.getByRole('button', { name: action, exact: true }).click();
}

/** On "Confirm it's you" (sudo mode): a fresh authenticator code, then back to `next`. */
async function passSudo(next: string): Promise<void> {
  await page.waitForURL((u) => u.pathname === '/account/verify');
  await visible(page.getByRole('heading', { level: 1, name: "Confirm it's you" }));
  await shot('mfa-verify.png');
  await page.getByLabel('Authenticator code').fill(freshCode());
  await page.getByRole('button', { name: 'Verify', exact: true }).click();
  await page.waitForURL(`${k.baseUrl}${next}`);
}

/**
 * Waits for the page a change lands on. This session has just confirmed it's you (sudo mode),
 * so the "Confirm it's you" page would be a failure here.
 */
async function landsOn(path: string): Promise<void> {
  await page.waitForURL(
    (u) => u.pathname === '/account/verify' || `${u.pathname}${u.search}` === path,
  );
  expect(`${new URL(page.url()).pathname}${new URL(page.url()).search}`).toBe(path);
}

const statusPill = () => page.locator('[data-mfa-status]');

test(
  '1. sign in, open 2-Step Verification, set up an authenticator app from its QR code',
  async () => {
    await page.goto(`${k.baseUrl}/`);
    await page.getByRole('link', { name: 'Sign in', exact: true }).click();
    await submitSignIn(page, 'dana', PASSWORD);
    await page.waitForURL(`${k.baseUrl}/`);
    await expectText(page.getByRole('heading', { level: 1 }), /Welcome/);

    // Account → Authentication → 2-Step Verification: off, two cards.
    await page.goto(`${k.baseUrl}/account`);
    await page
      .getByRole('navigation', { name: 'Account' })
      .getByRole('link', { name: '2-Step Verification' })
      .click();
    await page.waitForURL(`${k.baseUrl}/account/mfa`);
    await visible(page.getByRole('heading', { level: 1, name: 'Manage MFA Settings' }));
    await expectText(statusPill(), 'Off');
    await visible(page.getByRole('heading', { level: 2, name: 'Authenticator app' }));
    await visible(page.getByRole('heading', { level: 2, name: 'Security keys' }));
    await visible(page.getByText('No security keys yet.'));
    await shot('mfa-manage.png');

    // "Use Authenticator": the QR code (a server-rendered PNG) and the key behind a disclosure.
    await page.getByRole('link', { name: 'Use Authenticator' }).click();
    await page.waitForURL(`${k.baseUrl}/account/mfa/authenticator`);
    await visible(page.getByRole('heading', { level: 1, name: 'Setup Authenticator App' }));
    const qr = page.getByRole('img', { name: /QR code/ });
    await visible(qr);
    expect(await qr.getAttribute('src')).toMatch(/^data:image\/png;base64,/);
    expect(
      await qr.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth >= 200),
    ).toBe(true);
    const secretBox = page.locator('#otp-secret');
    expect(await secretBox.isVisible()).toBe(false);
    await shot('mfa-authenticator-setup.png');
    await page.getByText("Can't scan the QR code?").click();
    await visible(secretBox);
    secret = (await secretBox.innerText()).replace(/\s+/g, '');
    expect(secret).toMatch(/^[A-Z2-7]{32}$/); // base32 of 160 bits
    await shot('mfa-authenticator-manual.png');

    // A wrong code: an error, nothing enabled, the setup page again (today with a new key: read it again).
    const good = oathtool(secret, Math.floor((Date.now() + k.clock.offsetMs) / 1000));
    await page.getByLabel('Verification code').fill(good === '000000' ? '111111' : '000000');
    await page.getByRole('button', { name: 'Enable 2FA' }).click();
    await expectText(page.getByRole('alert'), /That code is not valid/);
    await visible(page.getByRole('img', { name: /QR code/ }));
    expect((await mfaSettings()).enabled).toBe(false);
    await page.getByText("Can't scan the QR code?").click();
    secret = (await page.locator('#otp-secret').innerText()).replace(/\s+/g, '');

    // The right code from oathtool: the "MFA setup successful" dialog and ten recovery codes, shown once.
    await page.getByLabel('Verification code').fill(freshCode());
    await page.getByRole('button', { name: 'Enable 2FA' }).click();
    await page.waitForURL(`${k.baseUrl}/account/mfa?done=added`);
    await visible(
      page.getByRole('dialog').getByRole('heading', { level: 2, name: 'MFA setup successful' }),
    );
    const codes = (await page.locator('#recovery-codes').innerText())
      .split('\n')
      .map((c) => c.trim())
      .filter(Boolean);
    expect(codes).toHaveLength(10);
    expect(new Set(codes).size).toBe(10);
    await visible(page.getByRole('button', { name: 'Copy' }));
    await visible(page.getByRole('link', { name: 'Download' }));
    await shot('mfa-setup-success.png');

    await page.getByRole('dialog').getByRole('button', { name: 'Done' }).click();
    await page.reload(); // post/redirect/get: the codes were shown once
    expect(await page.locator('#recovery-codes').count()).toBe(0);
    expect(await page.content()).not.toContain(codes[0]);
    await expectText(statusPill(), 'On');
    await visible(page.getByText('Authenticator app', { exact: true }).last());
    const settings = await mfaSettings();
    expect(settings).toMatchObject({
      enabled: true,
      recoveryCodesLeft: 10,
      mfaSettings: [{ type: 'otp', name: 'Authenticator app' }],
    });
    expect(cspViolations).toEqual([]);
  },
  TEST_TIMEOUT,
);

test(
  '2. register a named security key, sign out, sign in again with the key',
  async () => {
    await page.goto(`${k.baseUrl}/account/mfa`);
    await page.getByLabel('Key name').fill('YubiKey 5C');
    await page.getByRole('button', { name: 'Add security key' }).click();
    // This session signed in with the password only and an authenticator app is on now: sudo mode
    // sends us to "Confirm it's you" (a code from the app), then back to try again.
    await page.waitForURL((u) => u.pathname === '/account/verify');
    expect(new URL(page.url()).searchParams.get('next')).toBe('/account/mfa');
    await passSudo('/account/mfa');
    await page.getByLabel('Key name').fill('YubiKey 5C');
    await page.getByRole('button', { name: 'Add security key' }).click();
    await page.waitForURL(`${k.baseUrl}/account/mfa?done=key`);
    await expectText(page.getByRole('status'), 'Security key added.');
    const row = page.getByRole('row').filter({ hasText: 'YubiKey 5C' });
    await visible(row);
    await expectText(row.getByRole('cell').nth(2), 'never');
    expect(await credentials()).toHaveLength(1);
    let settings = await mfaSettings();
    expect(settings.mfaSettings.map((f) => [f.type, f.name])).toEqual([
      ['otp', 'Authenticator app'],
      ['webauthn', 'YubiKey 5C'],
    ]);
    const stored = await k.db.collection('mfa_factors').findOne({ type: 'webauthn' });
    expect(stored?.webauthn).toMatchObject({
      credentialId: expect.any(String),
      publicKey: expect.any(String),
      counter: expect.any(Number),
    });
    await shot('mfa-manage-with-key.png');

    // The same key again: the browser refuses (it is in excludeCredentials), the page says why.
    await page.getByRole('button', { name: 'Add security key' }).click();
    await expectText(page.getByRole('alert'), 'This security key is already registered.');
    expect(await credentials()).toHaveLength(1);

    // A forged registration response is a 4xx with a message, never a 500.
    const forged = await page.evaluate(async () => {
      const post = (url: string, body: unknown) =>
        fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'application/json' },
          body: JSON.stringify(body),
        });
      await post('/api/sso/mfa/webauthn', {});
      const res = await post('/api/sso/mfa/webauthn/verify', {
        name: 'Forged',
        response: {
          id: 'AAAA',
          rawId: 'AAAA',
          type: 'public-key',
          response: { clientDataJSON: 'e30', attestationObject: 'oA' },
        },
      });
      return { status: res.status, body: (await res.json()) as { message: string } };
    });
    expect(forged.status).toBe(400);
    expect(forged.body.message).toMatch(/^The security key response is not valid/);
    expect((await mfaSettings()).mfaSettings).toHaveLength(2);

    // Sign out.
    await page.goto(`${k.baseUrl}/`);
    await page.getByRole('link', { name: 'Sign out', exact: true }).click();
    await page.getByRole('button', { name: 'Yes, sign me out' }).click();
    await page.waitForURL(`${k.baseUrl}/`);
    await visible(page.getByRole('link', { name: 'Sign in', exact: true }));

    // Sign in again: the password, then the second step.
    await page.getByRole('link', { name: 'Sign in', exact: true }).click();
    await submitSignIn(page, 'dana', PASSWORD);
    await page.waitForURL(/\/interaction\/[^/]+\/mfa$/);
    await visible(page.getByRole('heading', { level: 1, name: '2-step verification' }));
    // The security key is offered first (dana has one); the app and a recovery code are the other ways.
    await visible(page.getByRole('button', { name: 'Use security key' }));
    await visible(page.getByRole('link', { name: 'Use your authenticator app' }));
    await visible(page.getByRole('link', { name: 'Use a recovery code' }));
    await shot('mfa-sign-in-step.png');
    await page.getByRole('link', { name: 'Use your authenticator app' }).click();
    await visible(page.getByLabel('Authenticator code'));
    await visible(page.getByRole('link', { name: 'Use a security key' }));

    // A wrong code keeps us on the step with a clear message.
    const right = oathtool(secret, Math.floor((Date.now() + k.clock.offsetMs) / 1000));
    await page.getByLabel('Authenticator code').fill(right === '123456' ? '654321' : '123456');
    await page.getByRole('button', { name: 'Verify', exact: true }).click();
    await expectText(page.getByRole('alert'), /That code is not valid/);
    await visible(page.getByRole('heading', { level: 1, name: '2-step verification' }));
    await shot('mfa-sign-in-wrong-code.png');

    const counterBefore = (await credentials())[0].signCount;
    await page.getByRole('link', { name: 'Use a security key' }).click();
    await page.waitForURL(/\/mfa\?method=webauthn$/);
    await shot('mfa-sign-in-key.png');
    await page.getByRole('button', { name: 'Use security key' }).click();
    await page.waitForURL(`${k.baseUrl}/`);
    await expectText(page.getByRole('heading', { level: 1 }), /Welcome/);
    await expectText(page.locator('.whoami-amr'), /password.*hwk.*mfa/);
    expect((await credentials())[0].signCount).toBeGreaterThan(counterBefore);

    // The server saw the key used: last used set, counter moved forward.
    settings = await mfaSettings();
    expect(settings.mfaSettings.find((f) => f.type === 'webauthn')?.lastUsedAt).toBeTruthy();
    const after = await k.db.collection('mfa_factors').findOne({ type: 'webauthn' });
    expect(after?.webauthn.counter).toBe((await credentials())[0].signCount);
    expect(cspViolations).toEqual([]);
  },
  TEST_TIMEOUT,
);

test(
  '3. remove the key and the app through their dialogs; set the app up again and turn 2-step verification off',
  async () => {
    await page.goto(`${k.baseUrl}/account/mfa`);
    const row = page.getByRole('row').filter({ hasText: 'YubiKey 5C' });
    await visible(row);

    // Cancel keeps the key.
    await row.getByRole('button', { name: 'Remove YubiKey 5C' }).click();
    await visible(page.getByRole('dialog'));
    await page.getByRole('dialog').getByRole('button', { name: 'Cancel' }).click();
    await page.getByRole('dialog').waitFor({ state: 'detached' });
    await visible(row);

    // Eleven minutes later the sudo window (10 min) has closed: removing the key first asks to
    // confirm it's you, here with the security key itself; nothing is removed until then.
    k.clock.offsetMs += 11 * 60_000;
    await confirmDialog(
      row.getByRole('button', { name: 'Remove YubiKey 5C' }),
      'Remove security key',
      'Remove',
    );
    await page.waitForURL((u) => u.pathname === '/account/verify');
    await visible(page.getByRole('heading', { level: 1, name: "Confirm it's you" }));
    const signCount = (await credentials())[0].signCount;
    await shot('mfa-verify-key.png');
    await page.getByRole('button', { name: 'Use security key' }).click();
    await page.waitForURL(`${k.baseUrl}/account/mfa`);
    expect((await credentials())[0].signCount).toBeGreaterThan(signCount);
    await visible(row);

    // Now remove the key.
    await page.getByRole('button', { name: 'Remove YubiKey 5C' }).click();
    await visible(page.getByRole('dialog'));
    await shot('mfa-remove-key-dialog.png', true);
    await page.getByRole('dialog').getByRole('button', { name: 'Remove', exact: true }).click();
    await landsOn('/account/mfa?done=removed');
    await expectText(page.getByRole('status'), 'The factor was removed.');
    await visible(page.getByText('No security keys yet.'));
    expect(await page.getByRole('row').filter({ hasText: 'YubiKey 5C' }).count()).toBe(0);
    await expectText(statusPill(), 'On');

    // Remove the authenticator app: 2-step verification is off.
    await confirmDialog(
      page.getByRole('button', { name: 'Remove Authenticator app' }),
      'Remove Authenticator app',
      'Remove Authenticator app',
    );
    await landsOn('/account/mfa?done=removed');
    await expectText(statusPill(), 'Off');
    await visible(page.getByRole('link', { name: 'Use Authenticator' }));
    expect(await mfaSettings()).toMatchObject({
      enabled: false,
      mfaSettings: [],
      recoveryCodesLeft: 0,
    });

    // Set the app up again, then "Turn Off" removes everything at once.
    await page.getByRole('link', { name: 'Use Authenticator' }).click();
    await page.getByText("Can't scan the QR code?").click();
    secret = (await page.locator('#otp-secret').innerText()).replace(/\s+/g, '');
    await page.getByLabel('Verification code').fill(freshCode());
    await page.getByRole('button', { name: 'Enable 2FA' }).click();
    await visible(
      page.getByRole('dialog').getByRole('heading', { level: 2, name: 'MFA setup successful' }),
    );
    await page.getByRole('dialog').getByRole('button', { name: 'Done' }).click();
    await expectText(statusPill(), 'On');
    await page.getByRole('button', { name: 'Turn Off' }).click();
    await visible(page.getByRole('dialog'));
    await expectText(
      page.getByRole('dialog').getByRole('heading'),
      'Turn off 2-Step Verification?',
    );
    await shot('mfa-turn-off-dialog.png', true);
    await page
      .getByRole('dialog')
      .getByRole('button', { name: 'Turn off 2-Step Verification', exact: true })
      .click();
    await landsOn('/account/mfa?done=off');
    await expectText(page.getByRole('status'), '2-step verification is off.');
    await expectText(statusPill(), 'Off');
    await shot('mfa-off.png');
    expect(await mfaSettings()).toMatchObject({
      enabled: false,
      mfaSettings: [],
      recoveryCodesLeft: 0,
    });
    expect(await k.db.collection('mfa_factors').countDocuments({})).toBe(0);
    expect(cspViolations).toEqual([]);
  },
  TEST_TIMEOUT,
);

test(
  '4. an organization enforcing 2-step verification: a member without a factor registers a key at sign-in',
  async () => {
    const erin = await createUser(k, 'erin', { org: 'acme' });
    const { organization } = (await k.container.organizations.primaryOf(erin.id))!;
    await k.container.policies.set(`org:${organization.id}`, 'enforce-mfa', true);

    // A second browser profile with its own virtual key.
    const { context: ctx2, page: p2, cspViolations: csp2 } = await openPage(browser);
    try {
      const { cdp: cdp2, authenticatorId: id2 } = await addVirtualAuthenticator(ctx2, p2);

      await p2.goto(`${k.baseUrl}/`);
      await p2.getByRole('link', { name: 'Sign in', exact: true }).click();
      await submitSignIn(p2, 'erin', PASSWORD);

      // No factor yet: enrolment, with an authenticator app (QR) or a security key; no skipping.
      await p2.waitForURL(/\/interaction\/[^/]+\/mfa\/enroll$/);
      await visible(p2.getByRole('heading', { level: 1, name: 'Set up 2-step verification' }));
      await visible(p2.getByText('Your organization requires 2-step verification.'));
      await visible(p2.getByRole('img', { name: /QR code/ }));
      expect(await p2.getByText('Skip for now').count()).toBe(0);
      await screenshot(p2, 'mfa-enroll.png');

      await p2.getByLabel('Name your security key').fill('Erin laptop key');
      await p2.getByRole('button', { name: 'Register security key' }).click();
      const codes = p2.locator('[data-recovery-codes]');
      await visible(codes);
      expect((await codes.innerText()).split('\n').filter(Boolean)).toHaveLength(10);
      await screenshot(p2, 'mfa-enroll-key-done.png');
      expect(
        (await cdp2.send('WebAuthn.getCredentials', { authenticatorId: id2 })).credentials,
      ).toHaveLength(1);

      await p2.getByRole('button', { name: 'Continue' }).click();
      await p2.waitForURL(`${k.baseUrl}/`);
      await expectText(p2.getByRole('heading', { level: 1 }), /Welcome/);
      await expectText(p2.locator('.whoami-amr'), /password.*hwk.*mfa/);
      // The key is the one enabled factor (the QR code's unconfirmed app setup stays pending, never active).
      const factors = await k.db
        .collection('mfa_factors')
        .find({ accountId: erin.id, enabled: true })
        .toArray();
      expect(factors.map((f) => [f.type, f.name])).toEqual([['webauthn', 'Erin laptop key']]);
      expect(csp2).toEqual([]);
    } finally {
      await ctx2.close();
    }
  },
  TEST_TIMEOUT,
);
