/**
 * The reference CLI as a real process (Node running bin/keyward.js) against a real Keyward:
 * `login` through the device flow approved on the real pages, the credentials file (contract
 * §5.3: mode, atomic, content), `whoami`, `token --print [-o json]`, `logout` (revocation), and
 * the clear exits: denied, expired code, no credentials, server unreachable, signed-out device.
 */
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { signedInBrowser, type Browser } from '../helpers/browserless.ts';
import { createUser, freePort, PASSWORD, startKeyward, type Keyward } from '../helpers/keyward.ts';
import { approve, cli, codeFrom, enterCode } from '../helpers/device.ts';

let k: Keyward;
let alice: Browser;

beforeAll(async () => {
  k = await startKeyward({ deviceFlow: { intervalSeconds: 1 } });
  await createUser(k, 'Alice', { org: 'acme' });
  alice = await signedInBrowser(k.baseUrl, 'alice', PASSWORD);
});
afterAll(async () => k?.stop());
afterEach(() => {
  k.clock.offsetMs = 0;
});

interface Creds {
  currentIdentity: string;
  identities: Record<
    string,
    {
      token: string;
      server: string;
      name: string;
      canonicalName: string;
      oauth: { clientId: string; expiresAt: string; refreshToken: string; deviceName: string };
    }
  >;
}

const home = () => mkdtempSync(join(tmpdir(), 'keyward-cli-'));
const envFor = (dir: string) => ({ HOME: dir, XDG_CONFIG_HOME: dir });
const credsFile = (dir: string) => join(dir, 'pw', 'credentials');
const readCreds = (dir: string) => JSON.parse(readFileSync(credsFile(dir), 'utf8')) as Creds;

/** `keyward auth login`, approved (or denied) in Alice's browser; answers the finished process. */
async function login(dir: string, opts: { deviceName?: string; approve?: boolean } = {}) {
  const run = cli(
    ['auth', 'login', '--server', k.baseUrl, '--device-name', opts.deviceName ?? 'ci-laptop'],
    envFor(dir),
  );
  const { userCode } = await codeFrom(run.child);
  await approve(alice, k.issuer, userCode, opts.approve ?? true);
  return run;
}

test('login → whoami → token --print: the device flow end to end, credentials stored per the contract', async () => {
  const dir = home();
  const done = await login(dir);
  expect(done.stderr).toContain('Signed in to');
  expect(done.stderr).toMatch(/as Alice \(context "Alice@127\.0\.0\.1:\d+"\)/);
  expect(done.code).toBe(0);

  // Directory 0700, file 0600, no temporary files left behind, contract §5.3 content.
  expect(statSync(join(dir, 'pw')).mode & 0o777).toBe(0o700);
  expect(statSync(credsFile(dir)).mode & 0o777).toBe(0o600);
  const creds = readCreds(dir);
  const host = new URL(k.baseUrl).host;
  expect(creds.currentIdentity).toBe(`Alice@${host}`);
  const id = creds.identities[creds.currentIdentity];
  expect(id).toMatchObject({
    server: k.baseUrl,
    name: `Alice@${host}`,
    canonicalName: `user:Alice@${host}`,
    oauth: { clientId: 'pw-cli', deviceName: 'ci-laptop' },
  });
  expect(Date.parse(id.oauth.expiresAt) - Date.now()).toBeGreaterThan(3500_000);
  expect(id.oauth.refreshToken).toBeTruthy();

  const who = await cli(['whoami'], envFor(dir));
  expect(who.code).toBe(0);
  expect(who.stdout).toContain(`Alice (Alice Example <alice@example.com>) on ${k.baseUrl}`);
  const whoJson = JSON.parse((await cli(['whoami', '-o', 'json'], envFor(dir))).stdout) as Record<
    string,
    string
  >;
  expect(whoJson).toMatchObject({
    username: 'Alice',
    email: 'alice@example.com',
    server: k.baseUrl,
  });

  const plain = await cli(['token', '--print'], envFor(dir));
  expect(plain.code).toBe(0);
  expect(plain.stdout.trim()).toBe(id.token);

  // Exactly an RFC 6749 §5.1 object, and the token really works.
  const json = await cli(['token', '--print', '-o', 'json'], envFor(dir));
  const parsed = JSON.parse(json.stdout) as {
    access_token: string;
    token_type: string;
    expires_in: number;
  };
  expect(Object.keys(parsed).sort()).toEqual(['access_token', 'expires_in', 'token_type']);
  expect(parsed.token_type).toBe('Bearer');
  expect(parsed.expires_in).toBeGreaterThan(3500);
  expect(parsed.expires_in).toBeLessThanOrEqual(3600);
  const info = await fetch(`${k.issuer}/userinfo`, {
    headers: { authorization: `Bearer ${parsed.access_token}` },
  });
  expect(info.status).toBe(200);
}, 60_000);

test('denied in the browser: login exits 5 and says so; nothing is stored', async () => {
  const dir = home();
  const done = await login(dir, { approve: false });
  expect(done.code).toBe(5);
  expect(done.stderr).toContain('Sign-in was denied in the browser.');
  expect(() => statSync(credsFile(dir))).toThrow();
}, 60_000);

test('the code expires before anyone approves: login exits 6 with a clear message', async () => {
  const dir = home();
  const run = cli(['login', '--server', k.baseUrl], envFor(dir));
  await codeFrom(run.child);
  k.clock.offsetMs = 11 * 60_000; // past the 10-minute lifetime, on the server's clock
  const done = await run;
  expect(done.code).toBe(6);
  expect(done.stderr).toContain('The code expired before the sign-in was approved.');
  expect(done.stderr).toContain('Run `keyward auth login` again');
}, 60_000);

test('no credentials, unreachable server, bad usage: clear messages and distinct exit codes', async () => {
  const dir = home();
  const none = await cli(['token', '--print'], envFor(dir));
  expect(none.code).toBe(4);
  expect(none.stderr).toContain('You are not signed in (no credentials found).');
  expect(none.stdout).toBe('');

  const closed = await freePort();
  const down = await cli(['login', '--server', `http://127.0.0.1:${closed}`], envFor(dir));
  expect(down.code).toBe(3);
  expect(down.stderr).toContain(
    `Cannot reach the Keyward server at http://127.0.0.1:${closed} (ECONNREFUSED)`,
  );

  const typo = await cli(['tokne'], envFor(dir));
  expect(typo.code).toBe(2);
  expect(typo.stderr).toContain('Unknown command "tokne"');
  const badOutput = await cli(['token', '--print', '-o', 'yaml'], envFor(dir));
  expect(badOutput.code).toBe(2);

  // A signed-in context whose server went away: unreachable, not "signed out".
  const signedIn = home();
  expect((await login(signedIn)).code).toBe(0);
  const creds = readCreds(signedIn);
  creds.identities[creds.currentIdentity].server = `http://127.0.0.1:${closed}`;
  writeFileSync(credsFile(signedIn), JSON.stringify(creds));
  const who = await cli(['whoami'], envFor(signedIn));
  expect(who.code).toBe(3);
  expect(who.stderr).toContain('Cannot reach the Keyward server');
}, 60_000);

test('logout revokes the refresh token on the server, then removes the context', async () => {
  const dir = home();
  expect((await login(dir)).code).toBe(0);
  const before = readCreds(dir).identities[readCreds(dir).currentIdentity];
  const out = await cli(['logout'], envFor(dir));
  expect(out.code).toBe(0);
  expect(out.stderr).toContain('Signed out of');
  expect(readCreds(dir).identities).toEqual({});

  const reuse = await fetch(`${k.issuer}/token`, {
    method: 'POST',
    body: new URLSearchParams({
      client_id: 'pw-cli',
      grant_type: 'refresh_token',
      refresh_token: before.oauth.refreshToken,
    }),
  });
  expect(reuse.status).toBe(400);
  expect(((await reuse.json()) as { error: string }).error).toBe('invalid_grant');
  // Revoking the refresh token revoked the device's grant: its access token is dead too.
  expect(
    (await fetch(`${k.issuer}/userinfo`, { headers: { authorization: `Bearer ${before.token}` } }))
      .status,
  ).toBe(401);

  const again = await cli(['logout'], envFor(dir));
  expect(again.code).toBe(4);
}, 60_000);

test('a device signed out on the server: the next command says so and exits 4', async () => {
  const dir = home();
  expect((await login(dir, { deviceName: 'to-be-removed' })).code).toBe(0);
  const list = await alice.fetch(`${k.baseUrl}/api/oidc/connected-apps`, {
    headers: { accept: 'application/json' },
  });
  const { apps } = (await list.json()) as {
    apps: { clientId: string; devices: { id: string; name: string }[] }[];
  };
  const device = apps
    .find((a) => a.clientId === 'pw-cli')!
    .devices.find((d) => d.name === 'to-be-removed')!;
  expect(
    (
      await alice.fetch(`${k.baseUrl}/api/oidc/connected-apps/pw-cli/devices/${device.id}`, {
        method: 'DELETE',
        headers: { accept: 'application/json' },
      })
    ).status,
  ).toBe(204);

  const who = await cli(['whoami'], envFor(dir));
  expect(who.code).toBe(4);
  expect(who.stderr).toContain('This device has been signed out of');
  expect(who.stderr).toContain('Run `keyward auth login` to sign in again.');
}, 60_000);

test('logging in again replaces the context and ends the sign-in it replaces', async () => {
  const dir = home();
  expect((await login(dir, { deviceName: 'relogin' })).code).toBe(0);
  const first = readCreds(dir).identities[readCreds(dir).currentIdentity];
  expect((await login(dir, { deviceName: 'relogin' })).code).toBe(0);
  const creds = readCreds(dir);
  expect(Object.keys(creds.identities)).toEqual([creds.currentIdentity]);
  expect(creds.identities[creds.currentIdentity].oauth.refreshToken).not.toBe(
    first.oauth.refreshToken,
  );
  const old = await fetch(`${k.issuer}/token`, {
    method: 'POST',
    body: new URLSearchParams({
      client_id: 'pw-cli',
      grant_type: 'refresh_token',
      refresh_token: first.oauth.refreshToken,
    }),
  });
  expect(((await old.json()) as { error: string }).error).toBe('invalid_grant');
  expect((await cli(['whoami'], envFor(dir))).code).toBe(0);
}, 60_000);

test('refused by disable-device-login: login exits 5 and prints the reason', async () => {
  await k.container.policies.set('platform', 'disable-device-login', true);
  try {
    const dir = home();
    const run = cli(['login', '--server', k.baseUrl], envFor(dir));
    const page = await enterCode(alice, k.issuer, (await codeFrom(run.child)).userCode);
    expect(page.status).toBe(403);
    const done = await run;
    expect(done.code).toBe(5);
    expect(done.stderr).toContain(
      'Sign-in was denied: Signing in on a device with a one-time code is turned off on this platform (policy disable-device-login).',
    );
  } finally {
    await k.container.policies.clear('platform', 'disable-device-login');
  }
}, 60_000);
