/**
 * Passkeys in a real browser (Chromium via playwright-core) with a virtual platform
 * authenticator that keeps discoverable credentials and verifies the user (CDP
 * `WebAuthn.addVirtualAuthenticator` with hasResidentKey and isUserVerified):
 *   1. register a named passkey on Account > Passkeys, sign out, then an OIDC code flow of a
 *      relying party: "Sign in with a passkey", no username, and the ID token's amr is hwk + user + mfa;
 *   2. a cloned credential (the same key put back with a lower signature counter) is refused;
 *   3. Enforce Security Key MFA is satisfied by the passkey sign-in (no second step);
 *   4. the account goes passwordless: its old password fails like a wrong one, the passkey signs in;
 *   5. a password is set again, the passkey removed through its confirm dialog: it no longer signs in;
 *   6. where the browser offers passkey autofill, the sign-in page starts it (username field, own challenge).
 * Keyward runs on http://localhost:PORT (its hostname is the RP ID). Screenshots: test-artifacts/passkeys-*.png.
 */
import * as oidc from 'openid-client';
import type { Browser, BrowserContext, CDPSession, Page } from 'playwright-core';
import {
  ARTIFACTS,
  expectText,
  launchChromium,
  openPage,
  submitSignIn,
  visible,
} from '../helpers/chromium.ts';
import { createUser, PASSWORD, startKeyward, type Keyward } from '../helpers/keyward.ts';
import { RP_CALLBACK, testClients } from '../helpers/clients.ts';
import { webClient } from '../helpers/mfa.ts';

const TEST_TIMEOUT = 120_000;

let k: Keyward;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let cdp: CDPSession;
let authenticatorId: string;
let cspViolations: string[] = [];

beforeAll(async () => {
  browser = await launchChromium();
  k = await startKeyward({ publicUrl: undefined, clients: testClients });
  expect(k.baseUrl).toMatch(/^http:\/\/localhost:\d+$/);
  await createUser(k, 'zoe', { org: 'zoe-org' });
  ({ context, page, cspViolations } = await openPage(browser));
  // Passkey autofill (conditional UI) off in this profile: with a discoverable credential present,
  // headless Chromium's autofill offer blocks synthetic clicks on the sign-in page. Test 6 covers it.
  await context.addInitScript(() => {
    if (window.PublicKeyCredential)
      Object.defineProperty(window.PublicKeyCredential, 'isConditionalMediationAvailable', {
        value: async () => false,
      });
  });
  cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  ({ authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  }));
}, TEST_TIMEOUT);

afterAll(async () => {
  await context?.close();
  await browser?.close();
  await k?.stop();
}, TEST_TIMEOUT);

const shot = (name: string, viewport = false) =>
  page.screenshot({ path: `${ARTIFACTS}/${name}`, fullPage: !viewport });

async function credentials() {
  return (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials;
}

async function signOut(): Promise<void> {
  await page.goto(`${k.baseUrl}/`);
  await page.getByRole('link', { name: 'Sign out', exact: true }).click();
  await page.getByRole('button', { name: 'Yes, sign me out' }).click();
  await page.waitForURL(`${k.baseUrl}/`);
  await visible(page.getByRole('link', { name: 'Sign in', exact: true }));
}

/** From the home page: "Sign in", then "Sign in with a passkey" (no username); answers the page's alert on failure. */
async function passkeySignInHome(): Promise<void> {
  await page.goto(`${k.baseUrl}/`);
  await page.getByRole('link', { name: 'Sign in', exact: true }).click();
  await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
}

/** An OIDC code flow of test-web in the browser; answers the ID token's claims. */
async function codeFlow(signIn: () => Promise<void>): Promise<oidc.IDToken> {
  const cfg = await webClient(k);
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const url = oidc.buildAuthorizationUrl(cfg, {
    redirect_uri: RP_CALLBACK,
    scope: 'openid profile',
    state,
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
  });
  // The relying party's callback is on a name that does not resolve here: the browser's request
  // to it carries the code (the page then shows Chromium's error page, which is waited for).
  const callback = page.waitForEvent('requestfailed', (r) => r.url().startsWith(RP_CALLBACK));
  await page.goto(url.toString());
  await signIn();
  const code = new URL((await callback).url());
  await page.waitForURL(/^chrome-error:/);
  const tokens = await oidc.authorizationCodeGrant(cfg, code, {
    pkceCodeVerifier: verifier,
    expectedState: state,
  });
  return tokens.claims()!;
}

test(
  '1. register a passkey, sign out, sign in to a relying party with it and no username: amr hwk + user + mfa',
  async () => {
    await page.goto(`${k.baseUrl}/`);
    await page.getByRole('link', { name: 'Sign in', exact: true }).click();
    await visible(page.getByRole('button', { name: 'Sign in with a passkey' }));
    await shot('passkeys-sign-in-page.png');
    await submitSignIn(page, 'zoe', PASSWORD);
    await page.waitForURL(`${k.baseUrl}/`);

    await page.goto(`${k.baseUrl}/account`);
    await page
      .getByRole('navigation', { name: 'Account' })
      .getByRole('link', { name: '2-Step Verification' })
      .click();
    await page.getByRole('link', { name: 'Manage passkeys' }).click();
    await page.waitForURL(`${k.baseUrl}/account/passkeys`);
    await visible(page.getByRole('heading', { level: 1, name: 'Passkeys' }));
    await visible(page.getByText('No passkeys yet.'));
    await page.getByLabel('Passkey name').fill('Zoe laptop');
    await page.getByRole('button', { name: 'Add a passkey' }).click();
    // The first factor of the account: recovery codes, once.
    const codes = page.locator('[data-recovery-codes]');
    await visible(codes);
    expect((await codes.innerText()).split('\n').filter(Boolean)).toHaveLength(10);
    await page.getByRole('link', { name: 'Done' }).click();
    await page.waitForURL(`${k.baseUrl}/account/passkeys?done=added`);
    await expectText(page.getByRole('status'), 'Passkey added.');
    const row = page.getByRole('row').filter({ hasText: 'Zoe laptop' });
    await visible(row);
    await expectText(row.getByRole('cell').nth(3), 'never');
    await shot('passkeys-list.png');
    const creds = await credentials();
    expect(creds).toHaveLength(1);
    expect(creds[0].isResidentCredential).toBe(true);

    await signOut();
    const claims = await codeFlow(async () => {
      await visible(page.getByRole('heading', { level: 1, name: 'Sign in' }));
      await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
    });
    expect(claims.amr).toEqual(['hwk', 'user', 'mfa']);
    expect(claims.acr).toBe('urn:keyward:acr:mfa');
    expect(claims.preferred_username ?? claims.sub).toBeTruthy();

    // Keyward's own session is the passkey's too.
    await page.goto(`${k.baseUrl}/account/passkeys`);
    await expectText(
      page.getByRole('row').filter({ hasText: 'Zoe laptop' }).getByRole('cell').nth(3),
      /^\d{4}-\d{2}-\d{2}$/,
    );
    expect(cspViolations).toEqual([]);
  },
  TEST_TIMEOUT,
);

test(
  '2. a cloned passkey (its signature counter going backwards) is refused',
  async () => {
    await signOut();
    const [cred] = await credentials();
    expect(cred.signCount).toBeGreaterThan(0);
    // The same private key in an authenticator whose counter is behind: what a clone looks like.
    await cdp.send('WebAuthn.removeCredential', {
      authenticatorId,
      credentialId: cred.credentialId,
    });
    await cdp.send('WebAuthn.addCredential', {
      authenticatorId,
      credential: { ...cred, signCount: 0 },
    });
    await passkeySignInHome();
    await expectText(
      page.getByRole('alert'),
      /counter it has used before \(possibly a cloned authenticator\)/,
    );
    await shot('passkeys-clone-refused.png');
    // The genuine authenticator (its counter ahead) still signs in.
    await cdp.send('WebAuthn.removeCredential', {
      authenticatorId,
      credentialId: cred.credentialId,
    });
    await cdp.send('WebAuthn.addCredential', {
      authenticatorId,
      credential: { ...cred, signCount: cred.signCount + 10 },
    });
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
    await page.waitForURL(`${k.baseUrl}/`);
    await expectText(page.locator('.whoami-amr'), 'Signed in with hwk, user, mfa');
  },
  TEST_TIMEOUT,
);

test(
  '3. Enforce Security Key MFA is satisfied by a passkey sign-in',
  async () => {
    const zoe = (await k.container.accounts.findByLogin('zoe'))!;
    const { organization } = (await k.container.organizations.primaryOf(zoe.id))!;
    await k.container.policies.set(`org:${organization.id}`, 'enforce-webauthn-mfa', 'hardware');
    try {
      await signOut();
      const claims = await codeFlow(() =>
        page.getByRole('button', { name: 'Sign in with a passkey' }).click(),
      );
      expect(claims.amr).toEqual(['hwk', 'user', 'mfa']);
    } finally {
      await k.container.policies.clear(`org:${organization.id}`, 'enforce-webauthn-mfa');
    }
  },
  TEST_TIMEOUT,
);

test(
  '4. passwordless: remove the password; the old password fails like a wrong one, the passkey signs in',
  async () => {
    await page.goto(`${k.baseUrl}/account/passkeys`);
    await page.getByRole('button', { name: 'Remove password' }).click();
    const dialog = page.getByRole('dialog');
    await visible(dialog);
    await expectText(dialog.getByRole('heading'), 'Remove your password');
    await shot('passkeys-remove-password-dialog.png', true);
    await dialog.getByRole('button', { name: 'Remove password', exact: true }).click();
    await page.waitForURL(`${k.baseUrl}/account/passkeys?done=passwordless`);
    await expectText(
      page.locator('[data-password-status]'),
      'Your account has no password: you sign in with a passkey.',
    );
    await shot('passkeys-passwordless.png');

    await signOut();
    await page.getByRole('link', { name: 'Sign in', exact: true }).click();
    await submitSignIn(page, 'zoe', PASSWORD);
    await expectText(page.getByRole('alert'), 'Invalid username or password.');
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
    await page.waitForURL(`${k.baseUrl}/`);
    await expectText(page.locator('.whoami-amr'), 'Signed in with hwk, user, mfa');
  },
  TEST_TIMEOUT,
);

test(
  '5. set a password again, remove the passkey through its dialog: it no longer signs in',
  async () => {
    await page.goto(`${k.baseUrl}/account/passkeys`);
    // While passwordless, the last passkey cannot be removed.
    await page.getByRole('button', { name: 'Remove Zoe laptop' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Remove', exact: true }).click();
    await expectText(page.getByRole('alert'), /no password: keep at least one passkey/);

    const NEW = 'correct horse battery staple 2026';
    await page.getByLabel('New password').fill(NEW);
    await page.getByLabel('Confirm password').fill(NEW);
    await page.getByRole('button', { name: 'Set password' }).click();
    await page.waitForURL(`${k.baseUrl}/account/passkeys?done=password`);
    await expectText(page.getByRole('status'), 'Your password is set.');

    await page.getByRole('button', { name: 'Remove Zoe laptop' }).click();
    await visible(page.getByRole('dialog'));
    await expectText(page.getByRole('dialog').getByRole('heading'), 'Remove passkey');
    await page.getByRole('dialog').getByRole('button', { name: 'Remove', exact: true }).click();
    await page.waitForURL(`${k.baseUrl}/account/passkeys?done=removed`);
    await visible(page.getByText('No passkeys yet.'));

    await signOut();
    await passkeySignInHome();
    await expectText(page.getByRole('alert'), /not registered with Keyward/);
    await submitSignIn(page, 'zoe', NEW);
    await page.waitForURL(`${k.baseUrl}/`);
    await expectText(page.locator('.whoami-amr'), 'Signed in with password');
    expect(cspViolations).toEqual([]);
  },
  TEST_TIMEOUT,
);

test(
  '6. passkey autofill: the sign-in page starts a conditional request with its own challenge',
  async () => {
    const { context: ctx2, page: p2, cspViolations: csp2 } = await openPage(browser);
    try {
      const conditional = p2.waitForRequest(
        (r) =>
          /\/interaction\/[^/]+\/passkey\/options$/.test(r.url()) &&
          r.postData() === '{"conditional":true}',
      );
      await p2.goto(`${k.baseUrl}/signin`);
      expect(await p2.evaluate(() => PublicKeyCredential.isConditionalMediationAvailable())).toBe(
        true,
      );
      await conditional;
      await visible(p2.locator('#username[autocomplete="username webauthn"]'));
      expect(csp2).toEqual([]);
    } finally {
      await ctx2.close();
    }
  },
  TEST_TIMEOUT,
);
