/**
 * The CLI's token renewal and REST commands, as real processes:
 * - 10 concurrent `keyward token --print -o json` near expiry rotate the refresh token exactly
 *   once (file lock) and all print the same, working token; without the lock a second rotation
 *   would present a spent refresh token and sign the device out;
 * - `keys list|create|delete` and `token create --ttl` through the REST API (issue 4's routes).
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KoaContextWithOIDC } from 'oidc-provider';
import { signedInBrowser, type Browser } from '../helpers/browserless.ts';
import { createUser, PASSWORD, startKeyward, type Keyward } from '../helpers/keyward.ts';
import { createKey } from '../helpers/api-keys.ts';
import { approve, cli, codeFrom } from '../helpers/device.ts';

let k: Keyward;
let alice: Browser;
let rotations = 0;

beforeAll(async () => {
  k = await startKeyward({ deviceFlow: { intervalSeconds: 1 } });
  await createUser(k, 'Alice', { org: 'acme' });
  alice = await signedInBrowser(k.baseUrl, 'alice', PASSWORD);
  k.container.provider.on('grant.success', (ctx: KoaContextWithOIDC) => {
    if (ctx.oidc.params?.grant_type === 'refresh_token') rotations++;
  });
});
afterAll(async () => k?.stop());

interface Identity {
  token: string;
  oauth: { expiresAt: string; refreshToken: string };
}
const envFor = (dir: string) => ({ HOME: dir, XDG_CONFIG_HOME: dir });
const credsFile = (dir: string) => join(dir, 'pw', 'credentials');
const readCreds = (dir: string) =>
  JSON.parse(readFileSync(credsFile(dir), 'utf8')) as {
    currentIdentity: string;
    identities: Record<string, Identity>;
  };
const current = (dir: string) => {
  const c = readCreds(dir);
  return c.identities[c.currentIdentity];
};

async function signedInCli(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'keyward-cli-'));
  const run = cli(['login', '--server', k.baseUrl, '--device-name', 'refresh-test'], envFor(dir));
  await approve(alice, k.issuer, (await codeFrom(run.child)).userCode);
  const done = await run;
  if (done.code !== 0) throw new Error(`login failed: ${done.stderr}`);
  return dir;
}

/** Makes the saved access token look about to expire (as if an hour had passed on this machine). */
function nearExpiry(dir: string, secondsLeft: number): void {
  const creds = readCreds(dir);
  creds.identities[creds.currentIdentity].oauth.expiresAt = new Date(
    Date.now() + secondsLeft * 1000,
  ).toISOString();
  writeFileSync(credsFile(dir), JSON.stringify(creds));
}

test('10 concurrent `token --print` near expiry: exactly one rotation, every process prints the same working token', async () => {
  const dir = await signedInCli();
  const before = current(dir);
  nearExpiry(dir, 60); // inside the 2-minute renewal window
  rotations = 0;

  const runs = await Promise.all(
    Array.from({ length: 10 }, () => cli(['token', '--print', '-o', 'json'], envFor(dir))),
  );
  for (const r of runs) expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
  const printed = runs.map(
    (r) => JSON.parse(r.stdout) as { access_token: string; token_type: string; expires_in: number },
  );
  expect(new Set(printed.map((p) => p.access_token)).size).toBe(1);
  expect(printed[0].access_token).not.toBe(before.token);
  for (const p of printed) expect(p.expires_in).toBeGreaterThan(3500);
  expect(rotations).toBe(1);

  const after = current(dir);
  expect(after.token).toBe(printed[0].access_token);
  expect(after.oauth.refreshToken).not.toBe(before.oauth.refreshToken);
  expect(
    (await fetch(`${k.issuer}/userinfo`, { headers: { authorization: `Bearer ${after.token}` } }))
      .status,
  ).toBe(200);
  // The device is still signed in: its new refresh token works (and the lock file is gone).
  expect(() => readFileSync(`${credsFile(dir)}.lock`)).toThrow();
  nearExpiry(dir, 30);
  const again = await cli(['token', '--print'], envFor(dir));
  expect(again.code).toBe(0);
  expect(rotations).toBe(2);
}, 90_000);

test('a refresh token presented twice signs the device out (what the lock prevents)', async () => {
  const dir = await signedInCli();
  const spent = current(dir).oauth.refreshToken;
  nearExpiry(dir, 10);
  expect((await cli(['token', '--print'], envFor(dir))).code).toBe(0);

  // Another copy of the old credentials (a second machine, or a racing process without a lock) rotates the spent token.
  const reuse = await fetch(`${k.issuer}/token`, {
    method: 'POST',
    body: new URLSearchParams({
      client_id: 'pw-cli',
      grant_type: 'refresh_token',
      refresh_token: spent,
    }),
  });
  expect(((await reuse.json()) as { error: string }).error).toBe('invalid_grant');

  nearExpiry(dir, 10);
  const out = await cli(['token', '--print'], envFor(dir));
  expect(out.code).toBe(4);
  expect(out.stderr).toContain('This device has been signed out');
}, 60_000);

test('keys list / delete / create and token create through the REST API with the CLI sign-in', async () => {
  const dir = await signedInCli();
  const made = await createKey(alice, k.baseUrl, { title: 'from-browser' });

  const list = await cli(['keys', 'list', '-o', 'json'], envFor(dir));
  expect(list.code).toBe(0);
  expect((JSON.parse(list.stdout) as { title: string }[]).map((x) => x.title)).toContain(
    'from-browser',
  );
  const table = await cli(['keys', 'list'], envFor(dir));
  expect(table.stdout).toMatch(/^TITLE\s+TYPE\s+HINT/m);
  expect(table.stdout).toContain('from-browser');
  expect(table.stdout).not.toContain(made.key);

  // Creating API keys needs a browser session (contract §2.3): the CLI relays the server's refusal.
  const create = await cli(['keys', 'create', '--title', 'nope'], envFor(dir));
  expect(create.code).toBe(1);
  expect(create.stderr).toContain('browser session');

  const del = await cli(['keys', 'delete', 'from-browser'], envFor(dir));
  expect(del.code).toBe(0);
  expect(
    (
      await fetch(`${k.baseUrl}/api/apikeys`, {
        headers: { authorization: `Basic ${Buffer.from(`${made.key}:`).toString('base64')}` },
      })
    ).status,
  ).toBe(401);
  const missing = await cli(['keys', 'delete', 'from-browser'], envFor(dir));
  expect(missing.code).toBe(1);

  const token = await cli(['token', 'create', '--ttl', '2'], envFor(dir));
  expect(token.code).toBe(0);
  expect(token.stdout.trim()).toMatch(/^pwut_/);
  const viaToken = await fetch(`${k.baseUrl}/api/auth/whoami`, {
    headers: { authorization: `Bearer ${token.stdout.trim()}` },
  });
  expect(await viaToken.text()).toContain('user:Alice');
  expect((await cli(['token', 'create', '--ttl', '25'], envFor(dir))).code).toBe(2);

  // KEYWARD_API_KEY instead of the saved sign-in: the server comes from the key itself.
  const key = await createKey(alice, k.baseUrl, { title: 'env-key' });
  const withKey = await cli(['keys', 'list', '-o', 'json'], {
    HOME: '/nonexistent',
    KEYWARD_API_KEY: key.key,
  });
  expect(withKey.code).toBe(0);
  expect((JSON.parse(withKey.stdout) as { title: string }[]).map((x) => x.title)).toContain(
    'env-key',
  );
}, 90_000);
