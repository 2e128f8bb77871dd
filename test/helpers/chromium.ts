/** Debian's Chromium through playwright-core, for the real-browser tests (fails, never skips, when missing). */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const ARTIFACTS = 'test-artifacts';

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium not found at ${CHROMIUM}. Install it (apt-get install chromium) or set CHROMIUM_PATH to a Chromium/Chrome executable.`);
  }
  mkdirSync(ARTIFACTS, { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM, headless: true, timeout: 60_000,
    // No background traffic: this machine has no network beyond loopback.
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

export const STEP_TIMEOUT = 20_000;

/** Full-page screenshot into test-artifacts/ (git-ignored), for a person to look at. */
export const shot = (page: Page, name: string) => page.screenshot({ path: join(ARTIFACTS, name), fullPage: true });

export const visible = (locator: Locator) => locator.waitFor({ state: 'visible' });

/** Retries an assertion until it passes or the time is up (playwright-core has no web-first expect). */
export async function eventually(check: () => Promise<void>, timeout = STEP_TIMEOUT): Promise<void> {
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
    if (typeof text === 'string') expect(actual).toBe(text); else expect(actual).toMatch(text);
  });
}
