/** Debian's Chromium through playwright-core, for the real-browser tests (fails, never skips, when missing). */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  chromium,
  type Browser,
  type BrowserContext,
  type CDPSession,
  type Locator,
  type Page,
} from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const ARTIFACTS = 'test-artifacts';

/** `extraArgs`: more command-line switches, e.g. `--host-resolver-rules` for test host names. */
export async function launchChromium(extraArgs: string[] = []): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium not found at ${CHROMIUM}. Install it (apt-get install chromium) or set CHROMIUM_PATH to a Chromium/Chrome executable.`,
    );
  }
  mkdirSync(ARTIFACTS, { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    timeout: 60_000,
    // No background traffic: this machine has no network beyond loopback.
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      ...extraArgs,
    ],
  });
}

export const STEP_TIMEOUT = 20_000;

export interface OpenedPage {
  context: BrowserContext;
  page: Page;
  cspViolations: string[];
}

/**
 * A fresh browser profile and page (1280 px wide, en-US, STEP_TIMEOUT for every wait) that
 * records everything the page's Content Security Policy blocks, for tests to assert none.
 */
export async function openPage(
  browser: Browser,
  options: { height?: number; clipboardOrigin?: string } = {},
): Promise<OpenedPage> {
  const context = await browser.newContext({
    viewport: { width: 1280, height: options.height ?? 860 },
    deviceScaleFactor: 1,
    locale: 'en-US',
  });
  context.setDefaultTimeout(STEP_TIMEOUT);
  context.setDefaultNavigationTimeout(STEP_TIMEOUT);
  if (options.clipboardOrigin)
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], {
      origin: options.clipboardOrigin,
    });
  const page = await context.newPage();
  const cspViolations: string[] = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error' && /Content Security Policy/i.test(msg.text()))
      cspViolations.push(msg.text());
  });
  return { context, page, cspViolations };
}

/** Fills in Keyward's sign-in form on `page` and submits it (where it lands is the caller's to check). */
export async function submitSignIn(page: Page, username: string, password: string): Promise<void> {
  await page.getByLabel('Username or email').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
}

/** Chromium's virtual security key (DevTools WebAuthn domain) for `page`, touched automatically. */
export async function addVirtualAuthenticator(
  context: BrowserContext,
  page: Page,
): Promise<{ cdp: CDPSession; authenticatorId: string }> {
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'usb',
      hasResidentKey: false,
      hasUserVerification: false,
      isUserVerified: false,
      automaticPresenceSimulation: true,
    },
  });
  return { cdp, authenticatorId };
}

/** Full-page screenshot into test-artifacts/ (git-ignored), for a person to look at. */
export const shot = (page: Page, name: string) =>
  page.screenshot({ path: join(ARTIFACTS, name), fullPage: true });

export const visible = (locator: Locator) => locator.waitFor({ state: 'visible' });

/** Retries an assertion until it passes or the time is up (playwright-core has no web-first expect). */
export async function eventually(
  check: () => Promise<void>,
  timeout = STEP_TIMEOUT,
): Promise<void> {
  const deadline = Date.now() + timeout;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > deadline) throw err;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Waits until the locator is visible and its text matches (exactly, for a string). */
export async function expectText(locator: Locator, text: string | RegExp): Promise<void> {
  await locator.waitFor({ state: 'visible' });
  await eventually(async () => {
    const actual = (await locator.innerText()).trim();
    if (typeof text === 'string') expect(actual).toBe(text);
    else expect(actual).toMatch(text);
  });
}
