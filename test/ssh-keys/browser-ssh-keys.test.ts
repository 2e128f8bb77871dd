/**
 * A real browser (Debian Chromium via playwright-core) through the SSH key pages: add a public
 * key (and see a refusal first), copy it to the clipboard, delete it through the dialog; store a
 * passphrase-protected private key, see "SSH Private Key created successfully", delete it through
 * the dialog. Screenshots in test-artifacts/ssh-*.png.
 */
import { type Browser } from 'playwright-core';
import {
  launchChromium,
  openPage,
  shot,
  eventually,
  expectText,
  type OpenedPage,
  submitSignIn,
} from '../helpers/chromium.ts';
import { createUser, PASSWORD, startKeyward, type Keyward } from '../helpers/keyward.ts';
import {
  KeyDir,
  PLATFORM_CLIENT_SECRET,
  clientToken,
  json,
  sshTestClients,
} from '../helpers/ssh.ts';

const TEST_TIMEOUT = 120_000;

let k: Keyward;
let browser: Browser;
const kd = new KeyDir();

beforeAll(async () => {
  browser = await launchChromium();
  k = await startKeyward({ clients: sshTestClients });
  await createUser(k, 'alice');
}, TEST_TIMEOUT);

afterAll(async () => {
  await browser?.close();
  await k?.stop();
  kd.remove();
}, TEST_TIMEOUT);

async function signedInPage(): Promise<OpenedPage> {
  const { context, page, cspViolations } = await openPage(browser, {
    height: 900,
    clipboardOrigin: k.baseUrl,
  });
  await page.goto(`${k.baseUrl}/account/ssh-keys`);
  await submitSignIn(page, 'alice', PASSWORD);
  await page.waitForURL(`${k.baseUrl}/account/ssh-keys`);
  return { context, page, cspViolations };
}

test(
  'SSH keys page: a refused paste, add, copy, delete through the dialog',
  async () => {
    const { context, page, cspViolations } = await signedInPage();
    try {
      await expectText(page.getByRole('heading', { level: 1 }), 'SSH Keys');
      await expectText(page.locator('table.ssh-keys tbody'), /No SSH keys yet/);
      await expect(
        page
          .getByRole('navigation', { name: 'Authentication' })
          .getByRole('link', { name: 'SSH Keys' })
          .getAttribute('aria-current'),
      ).resolves.toBe('page');

      // A private key pasted by mistake: refused, said so, not echoed back into the form.
      const key = await kd.generate('ed25519', { comment: 'alice@laptop' });
      await page.getByLabel('Key Name').fill('Laptop');
      await page.getByLabel('Key', { exact: true }).fill(key.privateKey);
      await page.getByRole('button', { name: 'Add Key' }).click();
      await expectText(
        page.getByRole('alert'),
        /^This is a private key\. Paste the public key instead/,
      );
      expect(await page.getByLabel('Key', { exact: true }).inputValue()).toBe('');
      expect(await page.getByLabel('Key Name').inputValue()).toBe('Laptop');
      expect(await page.content()).not.toContain(key.privateKey.split('\n')[1]);
      await shot(page, 'ssh-keys-refused.png');

      await page.getByLabel('Key', { exact: true }).fill(key.publicKey);
      await page.getByRole('button', { name: 'Add Key' }).click();
      await expectText(page.getByRole('status'), 'SSH key added.');
      const row = page.locator('table.ssh-keys tbody tr', { hasText: 'Laptop' });
      await expectText(row.locator('code.fp'), kd.keygenFingerprint(key.publicKey).fingerprint);
      await expectText(row.locator('.key-title'), /^Laptop\s*ssh-ed25519\s*256 bits$/);
      await shot(page, 'ssh-keys-added.png');

      await row.getByRole('button', { name: 'Copy the public key Laptop' }).click();
      await eventually(async () =>
        expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(key.publicKey),
      );
      await expectText(row.locator('.icon-copy [data-copy-label]'), 'Copied');

      await row.getByRole('button', { name: 'Delete Laptop' }).click();
      const dialog = page.getByRole('dialog');
      await expectText(dialog.getByRole('heading'), 'Delete SSH Key');
      await expectText(dialog.locator('p'), /“Laptop” \(SHA256:.*\) will no longer let you log in/);
      await shot(page, 'ssh-keys-delete-dialog.png');
      await dialog.getByRole('button', { name: 'Delete' }).click();
      await expectText(page.getByRole('status'), 'SSH key deleted.');
      await expectText(page.locator('table.ssh-keys tbody'), /No SSH keys yet/);
      expect(await k.db.collection('ssh_public_keys').countDocuments()).toBe(0);
      expect(cspViolations).toEqual([]);
    } finally {
      await context.close();
    }
  },
  TEST_TIMEOUT,
);

test(
  'SSH private keys page: passphrase asked for, created successfully, deleted through the dialog',
  async () => {
    const { context, page, cspViolations } = await signedInPage();
    try {
      await page.getByRole('link', { name: 'SSH Private Keys' }).click();
      await expectText(page.getByRole('heading', { level: 1 }), 'SSH Private Keys');
      const key = await kd.generate('ed25519', { passphrase: 'a fine passphrase' });

      await page.getByRole('link', { name: 'New SSH Private Key' }).click();
      await page.getByLabel('Name', { exact: true }).fill('hpc-archive');
      await page.getByLabel('Description').fill('Archive cluster at the lab');
      await page.getByLabel('Remote Resource SSH Private Key').fill(key.privateKey);
      await page.getByRole('button', { name: 'Create SSH Private Key' }).click();
      await expectText(
        page.getByRole('alert'),
        /^This private key is protected by a passphrase\. Enter the passphrase/,
      );
      expect(await page.getByLabel('Name', { exact: true }).inputValue()).toBe('hpc-archive');
      expect(await page.getByLabel('Remote Resource SSH Private Key').inputValue()).toBe('');
      await shot(page, 'ssh-private-keys-passphrase.png');

      await page.getByLabel('Remote Resource SSH Private Key').fill(key.privateKey);
      await page.getByLabel(/^Passphrase/).fill('a fine passphrase');
      await page.getByRole('button', { name: 'Create SSH Private Key' }).click();
      await expectText(
        page.getByRole('dialog').getByRole('heading'),
        'SSH Private Key created successfully',
      );
      await page.getByRole('dialog').getByRole('button', { name: 'Close' }).click();
      await shot(page, 'ssh-private-keys-success.png');
      const row = page.locator('table.ssh-private-keys tbody tr', { hasText: 'hpc-archive' });
      await expectText(row.locator('.key-title'), /^hpc-archive\s*ssh-ed25519\s*256 bits$/);
      await expectText(row.locator('.key-desc'), 'Archive cluster at the lab');
      await expectText(row.locator('code.fp'), kd.keygenFingerprint(key.publicKey).fingerprint);
      const html = await page.content();
      expect(html).not.toMatch(/BEGIN OPENSSH PRIVATE KEY-----\s*\n|a fine passphrase/);

      // The platform signs with it: the use shows up for the owner.
      const token = await clientToken(
        k.issuer,
        'test-platform',
        PLATFORM_CLIENT_SECRET,
        'ssh-private-keys:sign',
      );
      const signed = await json(
        undefined,
        `${k.baseUrl}/api/platform/users/alice/ssh-private-keys/hpc-archive/sign`,
        {
          method: 'POST',
          body: { data: 'aGVsbG8=', format: 'sshsig', namespace: 'file' },
          headers: { authorization: `Bearer ${token}` },
        },
      );
      expect(signed.status).toBe(200);
      await page.reload();
      await expectText(
        page.locator('table.key-uses tbody tr').first(),
        /hpc-archive\s+Signed \(file\)\s+test-platform\s+127\.0\.0\.1/,
      );
      await shot(page, 'ssh-private-keys-created.png');

      await row.getByRole('button', { name: 'Delete hpc-archive' }).click();
      const dialog = page.getByRole('dialog');
      await expectText(dialog.getByRole('heading'), 'Delete SSH Private Key');
      await shot(page, 'ssh-private-keys-delete-dialog.png');
      await dialog.getByRole('button', { name: 'Delete credentials' }).click();
      await expectText(page.getByRole('status'), 'SSH Private Key deleted.');
      await expectText(page.locator('table.ssh-private-keys tbody'), 'No SSH private keys stored.');
      expect(cspViolations).toEqual([]);
    } finally {
      await context.close();
    }
  },
  TEST_TIMEOUT,
);
