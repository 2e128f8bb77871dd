/**
 * Connected apps and signed-in devices: every device approval is its own grant (even from one
 * browser session), the list (REST and the account page), signing one device out and
 * disconnecting an app take effect on the next request, browser-session-only deletes, CSRF on
 * the page, 404s, and the audit trail.
 */
import * as oidc from 'openid-client';
import { formField, signedInBrowser, signIn, type Browser } from '../helpers/browserless.ts';
import { createUser, PASSWORD, startKeyward, type Keyward } from '../helpers/keyward.ts';
import { approve, startDevice } from '../helpers/device.ts';
import { atOnce } from '../helpers/at-once.ts';

const insecure = { execute: [oidc.allowInsecureRequests] };
const WEB_SECRET = 'dev-only-pw-web-secret-change-me-in-production';
let k: Keyward;
let alice: Browser;
let cli: oidc.Configuration;

interface Device {
  id: string;
  name: string;
  firstSeenAt: string;
  lastSeenAt: string;
  ip: string;
  userAgent: string;
}
interface App {
  clientId: string;
  name: string;
  firstParty: boolean;
  connectedAt: string;
  lastUsedAt?: string;
  devices?: Device[];
}

beforeAll(async () => {
  k = await startKeyward({ deviceFlow: { intervalSeconds: 1 } });
  await createUser(k, 'Alice', { org: 'acme' });
  alice = await signedInBrowser(k.baseUrl, 'alice', PASSWORD);
  cli = await oidc.discovery(new URL(k.issuer), 'pw-cli', undefined, oidc.None(), insecure);
});
afterAll(async () => k?.stop());

async function apps(browser: Browser = alice): Promise<App[]> {
  const res = await browser.fetch(`${k.baseUrl}/api/oidc/connected-apps`, {
    headers: { accept: 'application/json' },
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { apps: App[] }).apps;
}

/** A CLI device signed in through the device flow, approved in Alice's (one) browser session. */
async function device(name: string) {
  const start = await startDevice(
    k.issuer,
    { device_name: name },
    { 'user-agent': `keyward-cli/test (${name})` },
  );
  await approve(alice, k.issuer, start.user_code);
  return oidc.pollDeviceAuthorizationGrant(cli, { ...start, interval: 0 } as never);
}

const works = async (accessToken: string) =>
  (await fetch(`${k.issuer}/userinfo`, { headers: { authorization: `Bearer ${accessToken}` } }))
    .status === 200;

test('each device is listed on its own (own grant), with name, first/last seen, IP and program; the console is not an app', async () => {
  const laptop = await device('laptop');
  const desktop = await device('desktop');
  expect(laptop.claims()!.sub).toBe(desktop.claims()!.sub);

  const list = await apps();
  expect(list.map((a) => a.clientId)).toEqual(['pw-cli']); // Keyward's own console sign-in is not listed
  const cliApp = list[0];
  expect(cliApp).toMatchObject({ name: 'Platform CLI', firstParty: true });
  const names = cliApp.devices!.map((d) => d.name).sort();
  expect(names).toEqual(['desktop', 'laptop']);
  const row = cliApp.devices!.find((d) => d.name === 'laptop')!;
  expect(row).toMatchObject({ ip: '127.0.0.1' });
  expect(row.id).toMatch(/^[A-Za-z0-9_-]{16}$/);
  expect(Date.parse(row.lastSeenAt)).toBeGreaterThanOrEqual(Date.parse(row.firstSeenAt));

  // A refresh updates "last seen".
  const before = row.lastSeenAt;
  await new Promise((r) => setTimeout(r, 20));
  await oidc.refreshTokenGrant(cli, laptop.refresh_token!);
  const after = (await apps())[0].devices!.find((d) => d.name === 'laptop')!;
  expect(Date.parse(after.lastSeenAt)).toBeGreaterThan(Date.parse(before));
  expect(after.id).toBe(row.id);
}, 30_000);

test('signing one device out ends its tokens at once and leaves the other device signed in', async () => {
  const one = await device('one');
  const two = await device('two');
  const target = (await apps())[0].devices!.find((d) => d.name === 'one')!;

  // Browser session only: the CLI's own token may list, not delete.
  const byToken = await fetch(`${k.baseUrl}/api/oidc/connected-apps/pw-cli/devices/${target.id}`, {
    method: 'DELETE',
    headers: { authorization: `Bearer ${two.access_token}` },
  });
  expect(byToken.status).toBe(403);
  expect(((await byToken.json()) as { message: string }).message).toContain('browser session');
  const listedByToken = await fetch(`${k.baseUrl}/api/oidc/connected-apps`, {
    headers: { authorization: `Bearer ${two.access_token}` },
  });
  expect(listedByToken.status).toBe(200);

  const del = await alice.fetch(
    `${k.baseUrl}/api/oidc/connected-apps/pw-cli/devices/${target.id}`,
    { method: 'DELETE', headers: { accept: 'application/json' } },
  );
  expect(del.status).toBe(204);
  expect(await works(one.access_token)).toBe(false);
  await expect(oidc.refreshTokenGrant(cli, one.refresh_token!)).rejects.toMatchObject({
    error: 'invalid_grant',
  });
  expect(await works(two.access_token)).toBe(true);
  expect((await oidc.refreshTokenGrant(cli, two.refresh_token!)).access_token).toBeTruthy();
  expect((await apps())[0].devices!.map((d) => d.name)).not.toContain('one');

  const again = await alice.fetch(
    `${k.baseUrl}/api/oidc/connected-apps/pw-cli/devices/${target.id}`,
    { method: 'DELETE', headers: { accept: 'application/json' } },
  );
  expect(again.status).toBe(404);
  expect(((await again.json()) as { message: string }).message).toContain(
    `No signed-in device "${target.id}"`,
  );
  const events = await k.container.audit.forAccount(
    (await k.container.accounts.findByLogin('alice'))!.id,
  );
  expect(events.find((e) => e.type === 'oidc.device_signed_out')).toMatchObject({
    details: { client: 'pw-cli', device: 'one' },
  });
}, 30_000);

test('disconnecting an app revokes every grant and token it holds (web app and all CLI devices)', async () => {
  const web = await oidc.discovery(new URL(k.issuer), 'pw-web', WEB_SECRET, undefined, insecure);
  const verifier = oidc.randomPKCECodeVerifier();
  const url = oidc.buildAuthorizationUrl(web, {
    redirect_uri: 'http://localhost:8080/auth/callback',
    scope: 'openid offline_access',
    prompt: 'consent',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
  });
  const callback = await signIn(
    alice,
    url.toString(),
    'alice',
    PASSWORD,
    'http://localhost:8080/auth/callback',
  );
  const webTokens = await oidc.authorizationCodeGrant(web, new URL(callback), {
    pkceCodeVerifier: verifier,
  });
  const cliTokens = await device('to-disconnect');

  const listed = await apps();
  expect(listed.find((a) => a.clientId === 'pw-web')).toMatchObject({
    name: 'Platform web',
    firstParty: true,
  });
  expect(listed.find((a) => a.clientId === 'pw-web')!.devices).toBeUndefined();

  expect(
    (
      await alice.fetch(`${k.baseUrl}/api/oidc/connected-apps/pw-web`, {
        method: 'DELETE',
        headers: { accept: 'application/json' },
      })
    ).status,
  ).toBe(204);
  expect(await works(webTokens.access_token)).toBe(false);
  await expect(oidc.refreshTokenGrant(web, webTokens.refresh_token!)).rejects.toMatchObject({
    error: 'invalid_grant',
  });
  expect(await works(cliTokens.access_token)).toBe(true);

  expect(
    (
      await alice.fetch(`${k.baseUrl}/api/oidc/connected-apps/pw-cli`, {
        method: 'DELETE',
        headers: { accept: 'application/json' },
      })
    ).status,
  ).toBe(204);
  expect(await works(cliTokens.access_token)).toBe(false);
  expect(await apps()).toEqual([]);
  const unknown = await alice.fetch(`${k.baseUrl}/api/oidc/connected-apps/pw-cli`, {
    method: 'DELETE',
    headers: { accept: 'application/json' },
  });
  expect(unknown.status).toBe(404);
  expect(((await unknown.json()) as { message: string }).message).toBe(
    '"pw-cli" is not connected to your account.',
  );
  expect((await fetch(`${k.baseUrl}/api/oidc/connected-apps`)).status).toBe(401);
  const doc = (await (await fetch(`${k.baseUrl}/api/openapi.json`)).json()) as {
    paths: Record<string, Record<string, unknown>>;
  };
  expect(Object.keys(doc.paths['/api/oidc/connected-apps/{clientId}/devices/{deviceId}'])).toEqual([
    'delete',
  ]);
  expect(Object.keys(doc.paths['/api/oidc/connected-apps'])).toEqual(['get']);
}, 30_000);

test('the Signed-in devices page lists devices and signs one out with its CSRF-protected form', async () => {
  const gone = await device('page-device');
  const page = await alice.fetch(`${k.baseUrl}/account/devices`);
  const html = await page.text();
  expect(page.status).toBe(200);
  expect(html).toContain('<a href="/account/devices" aria-current="page">Signed-in devices</a>');
  expect(html).toContain('page-device');
  expect(html).toMatch(/page-device<span class="device-ua">openid-client\/v6/); // the program that uses the tokens
  const row = (await apps())[0].devices!.find((d) => d.name === 'page-device')!;
  const action = `/account/devices/pw-cli/${row.id}/sign-out`;
  expect(html).toContain(`action="${action}"`);

  const forged = await alice.postForm(`${k.baseUrl}${action}`, { _csrf: 'forged' });
  expect(forged.status).toBe(403);
  expect(await works(gone.access_token)).toBe(true);

  const done = await alice.postForm(`${k.baseUrl}${action}`, { _csrf: formField(html, '_csrf') });
  expect(done.status).toBe(303);
  expect(done.headers.get('location')).toBe('/account/devices?done=device');
  expect(await works(gone.access_token)).toBe(false);
  const after = await (await alice.fetch(`${k.baseUrl}/account/devices?done=device`)).text();
  expect(after).toContain('The device was signed out.');
  expect(after).not.toContain('page-device');

  // Signed out of the browser: the page asks to sign in.
  const anonymous = await fetch(`${k.baseUrl}/account/devices`, { redirect: 'manual' });
  expect(anonymous.headers.get('location')).toBe('/signin?next=%2Faccount%2Fdevices');
}, 30_000);

test('the first uses of a grant recorded at once all succeed, as one connection', async () => {
  const grant = { grantId: 'race-grant', accountId: 'race-account', clientId: 'pw-cli' };
  const { apps } = k.container.deviceLogin;
  await atOnce(8, (i) =>
    i % 2 ? apps.noteGrant(grant) : apps.noteUse({ ...grant, ip: `192.0.2.${i}` }),
  );
  expect(
    await k.db.collection('oidc_connections').countDocuments({ _id: 'race-grant' as never }),
  ).toBe(1);
});
