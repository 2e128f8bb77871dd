/**
 * Cross-site request forgery from a sibling subdomain, in a real browser (issue 11, item 4).
 * Keyward is served at http://app.kw.test:<port> and the attacker's page at
 * http://evil.kw.test:<port2> (Chromium resolves *.kw.test to 127.0.0.1): the same site, so the
 * SameSite=Lax session cookie is sent with the attacker's requests. A signed-in person who opens
 * the attacker's page must not get an SSH login key planted: not by an auto-submitting
 * urlencoded form, not by a text/plain form shaped like JSON, not by a no-cors fetch.
 * Twice: over plain http Chromium sends no Fetch Metadata (so the Origin header decides), and with
 * both origins treated as secure, as under https, it sends `Sec-Fetch-Site: same-site`.
 * Screenshots: test-artifacts/csrf-sibling-refused-*.png.
 */
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser } from 'playwright-core';
import { launchChromium, openPage, shot, submitSignIn, eventually } from '../helpers/chromium.ts';
import { createUser, freePort, PASSWORD, startKeyward, type Keyward } from '../helpers/keyward.ts';
import { KeyDir } from '../helpers/ssh.ts';

const TEST_TIMEOUT = 120_000;
const kd = new KeyDir();
let k: Keyward;
let browsers: { plain: Browser; secure: Browser };
let evil: Server;
let app: string;
let attacker: string;

/** The attacker's pages, each attacking on load. */
function attackerPages(target: string, publicKey: string): Record<string, string> {
  const json = JSON.stringify({ title: 'planted', key: publicKey });
  const html = (body: string) =>
    `<!doctype html><html><head><title>Free cat pictures</title></head><body><h1>Free cat pictures</h1>${body}</body></html>`;
  const escape = (s: string) =>
    s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
  return {
    // The reported attack: a urlencoded form.
    '/form': html(`<form id="f" method="POST" action="${target}/api/ssh-public-keys">
      <input type="hidden" name="title" value="planted"><input type="hidden" name="key" value="${escape(publicKey)}">
      </form><script>document.getElementById('f').submit()</script>`),
    // A text/plain form whose body reads as JSON: {"title":"planted","key":"…","x":"="}.
    '/text':
      html(`<form id="f" method="POST" enctype="text/plain" action="${target}/api/ssh-public-keys">
      <input type="hidden" name="${escape(json.slice(0, -1))},&quot;x&quot;:&quot;" value="&quot;}">
      </form><script>document.getElementById('f').submit()</script>`),
    // A no-cors fetch with the session cookie: the answer is opaque, but the request is sent.
    '/fetch': html(`<p id="done">sending</p><script>
      fetch(${JSON.stringify(`${target}/api/ssh-public-keys`)}, { method: 'POST', mode: 'no-cors', credentials: 'include',
        headers: { 'content-type': 'text/plain' }, body: ${JSON.stringify(json)} })
        .finally(() => { document.getElementById('done').textContent = 'sent'; });
      </script>`),
  };
}

beforeAll(async () => {
  const port = await freePort();
  app = `http://app.kw.test:${port}`;
  k = await startKeyward({ port, publicUrl: app });
  await createUser(k, 'alice');
  const { publicKey } = await kd.generate('ed25519', { comment: 'mallory@evil' });
  const pages = attackerPages(app, publicKey);
  evil = createServer((req, res) => {
    const page = pages[req.url ?? ''];
    res.writeHead(page ? 200 : 404, { 'content-type': 'text/html; charset=utf-8' });
    res.end(page ?? 'not found');
  });
  await new Promise<void>((r) => evil.listen(0, '127.0.0.1', r));
  attacker = `http://evil.kw.test:${(evil.address() as AddressInfo).port}`;
  const resolve = '--host-resolver-rules=MAP *.kw.test 127.0.0.1';
  browsers = {
    plain: await launchChromium([resolve]),
    secure: await launchChromium([
      resolve,
      `--unsafely-treat-insecure-origin-as-secure=${app},${attacker}`,
    ]),
  };
}, TEST_TIMEOUT);

afterAll(async () => {
  await browsers?.plain.close();
  await browsers?.secure.close();
  await new Promise((r) => (evil ? evil.close(r) : r(undefined)));
  await k?.stop();
  kd.remove();
}, TEST_TIMEOUT);

test.each(['plain', 'secure'] as const)(
  'a page on a sibling subdomain cannot add an SSH key for the signed-in person (%s)',
  async (kind) => {
    const { context, page } = await openPage(browsers[kind]);
    const keysBefore = await k.db.collection('ssh_public_keys').countDocuments();
    // Every request to Keyward's API as the server received it, and its answer.
    const sent: { path: string; headers: IncomingHttpHeaders; status?: number }[] = [];
    const record = (req: IncomingMessage, res: ServerResponse) => {
      if (!req.url?.startsWith('/api/')) return;
      const entry: (typeof sent)[number] = { path: req.url, headers: req.headers };
      sent.push(entry);
      res.on('finish', () => {
        entry.status = res.statusCode;
      });
    };
    try {
      await page.goto(`${app}/account/ssh-keys`);
      await submitSignIn(page, 'alice', PASSWORD);
      await page.waitForURL(`${app}/account/ssh-keys`);
      expect((await context.cookies(app)).map((c) => c.name)).toContain('_session');
      k.server.on('request', record);

      for (const attack of ['/form', '/text']) {
        await page.goto(`${attacker}${attack}`, { waitUntil: 'commit' });
        await page.waitForURL(`${app}/api/ssh-public-keys`);
        await expect(page.locator('body').innerText()).resolves.toMatch(
          /Cross-site request refused/,
        );
        if (attack === '/form') await shot(page, `csrf-sibling-refused-${kind}.png`);
      }
      await page.goto(`${attacker}/fetch`);
      await eventually(async () => expect(await page.locator('#done').innerText()).toBe('sent'));
      await eventually(async () =>
        expect(sent.filter((e) => e.status !== undefined)).toHaveLength(3),
      );

      // The scenario is the real one: the session cookie went along (SameSite=Lax did not stop it), and each was refused.
      for (const s of sent) {
        expect(s.path).toBe('/api/ssh-public-keys');
        expect(s.headers.cookie).toMatch(/(^|; )_session=/);
        expect(s.headers['sec-fetch-site']).toBe(kind === 'secure' ? 'same-site' : undefined);
        expect(s.headers.origin).toBe(attacker);
        expect(s.status).toBe(403);
      }
      expect(await k.db.collection('ssh_public_keys').countDocuments()).toBe(keysBefore);

      // The same session on Keyward's own page still works (so the refusals were the origin check).
      await page.goto(`${app}/account/ssh-keys`);
      const own = await page.evaluate(
        async (key) =>
          (
            await fetch('/api/ssh-public-keys', {
              method: 'POST',
              headers: { 'content-type': 'application/json', accept: 'application/json' },
              body: JSON.stringify({ title: 'mine', key }),
            })
          ).status,
        (await kd.generate('ed25519')).publicKey,
      );
      expect(own).toBe(200);
      expect(await k.db.collection('ssh_public_keys').countDocuments()).toBe(keysBefore + 1);
    } finally {
      k.server.off('request', record);
      await context.close();
    }
  },
  TEST_TIMEOUT,
);
