/**
 * The device flow on the server (RFC 8628) over real HTTP on a real database: openid-client 6's
 * device functions as an independent client, user-code format, `interval` and `slow_down`,
 * expiry of device and user codes, denial, `device_name`, `verification_uri_complete` with a
 * sign-in first, refresh rotation and reuse detection, and the configurable token lifetime.
 */
import * as oidc from 'openid-client';
import { Browser, formField, signedInBrowser, signIn } from '../helpers/browserless.ts';
import { createUser, PASSWORD, startKeyward, type Keyward } from '../helpers/keyward.ts';
import { loadConfig } from '../../src/platform/config/load-config.ts';
import { approve, decide, enterCode, pollOnce, startDevice } from '../helpers/device.ts';

const insecure = { execute: [oidc.allowInsecureRequests] };
let k: Keyward;
let alice: Browser;
let cfg: oidc.Configuration;

beforeAll(async () => {
  k = await startKeyward({ deviceFlow: { intervalSeconds: 1 }, ttl: { accessTokenSeconds: 900 } });
  await createUser(k, 'Alice', { org: 'acme' });
  alice = await signedInBrowser(k.baseUrl, 'alice', PASSWORD);
  cfg = await oidc.discovery(new URL(k.issuer), 'pw-cli', undefined, oidc.None(), insecure);
});
afterAll(async () => k?.stop());
afterEach(() => {
  k.clock.offsetMs = 0;
});

test('openid-client device flow: discovery, codes from 20 consonants, approval on the real pages, tokens that work', async () => {
  expect(cfg.serverMetadata().device_authorization_endpoint).toBe(
    `${k.issuer}/device_authorization`,
  );
  expect(cfg.serverMetadata().grant_types_supported).toContain(
    'urn:ietf:params:oauth:grant-type:device_code',
  );

  const start = await oidc.initiateDeviceAuthorization(cfg, {
    scope: 'openid profile email offline_access',
    device_name: 'build-box',
  });
  expect(start.user_code).toMatch(/^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/);
  expect(start.verification_uri).toBe(`${k.issuer}/device`);
  expect(start.verification_uri_complete).toBe(`${k.issuer}/device?user_code=${start.user_code}`);
  expect(start.expires_in).toBe(600);
  expect(start.interval).toBe(1);

  // Lower case and without the dash is the same code; the confirmation shows who asks, from where and when.
  const confirm = await enterCode(alice, k.issuer, start.user_code.replace('-', '').toLowerCase());
  expect(confirm.status).toBe(200);
  expect(confirm.html).toContain(start.user_code);
  for (const fact of ['Platform CLI', 'build-box', '127.0.0.1', 'Requested', 'Alice Example'])
    expect(confirm.html).toContain(fact);
  const polling = oidc.pollDeviceAuthorizationGrant(cfg, start);
  const done = await decide(alice, k.issuer, confirm.html, true);
  expect(done.html).toContain('Device signed in');
  expect(done.html).toContain('Platform CLI on “build-box” is now signed in');

  const tokens = await polling;
  expect(tokens.token_type).toBe('bearer');
  expect(tokens.expires_in).toBe(900); // ttl.accessTokenSeconds
  expect(tokens.refresh_token).toBeTruthy();
  expect(tokens.scope?.split(' ').sort()).toEqual(['email', 'offline_access', 'openid', 'profile']);
  const claims = tokens.claims()!;
  expect(claims).toMatchObject({ iss: k.issuer, aud: 'pw-cli' });
  const info = await oidc.fetchUserInfo(cfg, tokens.access_token, claims.sub);
  expect(info).toMatchObject({ preferred_username: 'Alice', email: 'alice@example.com' });

  // Stored: only digests of the codes; the approval is in the audit trail (without codes).
  const request = await k.db.collection('device_requests').findOne({});
  expect(JSON.stringify(request)).not.toContain(start.device_code);
  expect(JSON.stringify(request)).not.toContain(start.user_code.replace('-', ''));
  const events = await k.container.audit.forAccount(
    (await k.container.accounts.findByLogin('alice'))!.id,
  );
  const approved = events.find((e) => e.type === 'device.approved')!;
  expect(approved.details).toEqual({ client: 'pw-cli', device: 'build-box' });

  // Single use: the code cannot be redeemed again (and the replay revokes what it issued).
  await expect(oidc.pollDeviceAuthorizationGrant(cfg, start)).rejects.toMatchObject({
    error: 'invalid_grant',
  });
  await expect(oidc.fetchUserInfo(cfg, tokens.access_token, claims.sub)).rejects.toThrow();
}, 30_000);

test('slow_down: polling sooner than the interval is refused, and the interval grows by 5 s each time', async () => {
  const start = await startDevice(k.issuer);
  expect((await pollOnce(k.issuer, start.device_code)).body.error).toBe('authorization_pending');
  const fast = await pollOnce(k.issuer, start.device_code);
  expect(fast.status).toBe(400);
  expect(fast.body.error).toBe('slow_down');
  k.clock.offsetMs += 2000; // the original 1 s interval has passed, the new 6 s one has not
  expect((await pollOnce(k.issuer, start.device_code)).body.error).toBe('slow_down');
  k.clock.offsetMs += 12_000; // now 11 s: wait that long and the device is welcome again
  expect((await pollOnce(k.issuer, start.device_code)).body.error).toBe('authorization_pending');
  k.clock.offsetMs += 3000;
  expect((await pollOnce(k.issuer, start.device_code)).body.error).toBe('slow_down');

  // openid-client backs off by itself on slow_down and still gets its tokens.
  const second = await oidc.initiateDeviceAuthorization(cfg, { scope: 'openid offline_access' });
  await pollOnce(k.issuer, second.device_code); // spends the first interval, so the client's first poll is early
  const polling = oidc.pollDeviceAuthorizationGrant(cfg, second);
  await new Promise((r) => setTimeout(r, 1500));
  await approve(alice, k.issuer, second.user_code);
  expect((await polling).access_token).toBeTruthy();
}, 40_000);

test('expiry: an expired device code polls expired_token; an expired user code says "expired", not "wrong"', async () => {
  const start = await startDevice(k.issuer);
  k.clock.offsetMs = 10 * 60_000 + 1000;
  const polled = await pollOnce(k.issuer, start.device_code);
  expect(polled).toMatchObject({ status: 400, body: { error: 'expired_token' } });
  const page = await enterCode(alice, k.issuer, start.user_code);
  expect(page.status).toBe(200);
  expect(page.html).toContain('This code has expired.');
  expect(page.html).not.toContain('op.deviceConfirmForm');
  // An unknown code is a different message.
  expect((await enterCode(alice, k.issuer, 'BBBB-BBBB')).html).toContain('That code is not valid.');
});

test('denial: Deny ends the request with access_denied and says so', async () => {
  const start = await startDevice(k.issuer);
  const done = await approve(alice, k.issuer, start.user_code, false);
  expect(done.html).toContain('Sign-in denied');
  expect(await pollOnce(k.issuer, start.device_code)).toMatchObject({
    status: 400,
    body: { error: 'access_denied' },
  });
  // The code cannot be used any more.
  expect((await enterCode(alice, k.issuer, start.user_code)).html).toContain('already been used');
  const events = await k.container.audit.forAccount(
    (await k.container.accounts.findByLogin('alice'))!.id,
  );
  expect(events.map((e) => e.type)).toContain('device.denied');
});

test('device_name is optional and validated', async () => {
  const res = await fetch(`${k.issuer}/device_authorization`, {
    method: 'POST',
    body: new URLSearchParams({
      client_id: 'pw-cli',
      scope: 'openid',
      device_name: 'x'.repeat(65),
    }),
  });
  expect(res.status).toBe(400);
  expect(await res.json()).toMatchObject({
    error: 'invalid_request',
    error_description: 'device_name must be 1–64 printable characters',
  });
  const unnamed = await startDevice(k.issuer, { scope: 'openid' });
  expect((await enterCode(alice, k.issuer, unnamed.user_code)).html).toContain('Not named');
  // Only clients registered for the device grant may start one.
  const web = await fetch(`${k.issuer}/device_authorization`, {
    method: 'POST',
    body: new URLSearchParams({ scope: 'openid' }),
    headers: {
      authorization: `Basic ${Buffer.from('pw-web:dev-only-pw-web-secret-change-me-in-production').toString('base64')}`,
    },
  });
  expect(web.status).toBe(400);
  expect(await web.json()).toMatchObject({
    error: 'invalid_request',
    error_description:
      'urn:ietf:params:oauth:grant-type:device_code is not allowed for this client',
  });
});

test('verification_uri_complete: a browser without a session signs in first, then still has to confirm', async () => {
  const start = await startDevice(k.issuer, { device_name: 'from-link' });
  const browser = new Browser();
  const first = await browser.fetch(start.verification_uri_complete);
  expect(first.status).toBe(303);
  expect(first.headers.get('location')).toBe(
    `/signin?next=${encodeURIComponent(`/api/oidc/device?user_code=${start.user_code}`)}`,
  );

  const back = await signIn(
    browser,
    `${k.baseUrl}${first.headers.get('location')}`,
    'alice',
    PASSWORD,
    `${k.baseUrl}/signin/callback`,
  );
  const home = await browser.fetch(back);
  expect(home.headers.get('location')).toBe(`/api/oidc/device?user_code=${start.user_code}`);
  // The pre-filled code is submitted (a self-posting form) and leads to the confirmation, not to an approval.
  const prefill = await (await browser.fetch(`${k.baseUrl}${home.headers.get('location')}`)).text();
  expect(formField(prefill, 'user_code')).toBe(start.user_code);
  const confirm = await browser.postForm(`${k.issuer}/device`, {
    xsrf: formField(prefill, 'xsrf'),
    user_code: formField(prefill, 'user_code'),
  });
  const html = await confirm.text();
  expect(html).toContain('Sign in on this device?');
  expect(html).toContain('from-link');
  expect((await pollOnce(k.issuer, start.device_code)).body.error).toBe('authorization_pending');
  await decide(browser, k.issuer, html, true);
  expect((await pollOnce(k.issuer, start.device_code)).status).toBe(200);
}, 30_000);

test('refresh tokens rotate on every use; presenting a spent one signs that device out', async () => {
  const start = await oidc.initiateDeviceAuthorization(cfg, {
    scope: 'openid offline_access',
    device_name: 'rotating',
  });
  await approve(alice, k.issuer, start.user_code);
  const tokens = await oidc.pollDeviceAuthorizationGrant(cfg, start);
  const second = await oidc.refreshTokenGrant(cfg, tokens.refresh_token!);
  expect(second.refresh_token).not.toBe(tokens.refresh_token);
  const third = await oidc.refreshTokenGrant(cfg, second.refresh_token!);
  expect(third.refresh_token).not.toBe(second.refresh_token);

  const listed = async () =>
    (
      (await (
        await alice.fetch(`${k.baseUrl}/api/oidc/connected-apps`, {
          headers: { accept: 'application/json' },
        })
      ).json()) as { apps: { devices?: { name: string }[] }[] }
    ).apps
      .flatMap((a) => a.devices ?? [])
      .map((d) => d.name);
  expect(await listed()).toContain('rotating');

  await expect(oidc.refreshTokenGrant(cfg, tokens.refresh_token!)).rejects.toMatchObject({
    error: 'invalid_grant',
  });
  await expect(oidc.refreshTokenGrant(cfg, third.refresh_token!)).rejects.toMatchObject({
    error: 'invalid_grant',
  });
  expect(
    (
      await fetch(`${k.issuer}/userinfo`, {
        headers: { authorization: `Bearer ${third.access_token}` },
      })
    ).status,
  ).toBe(401);
  expect(await listed()).not.toContain('rotating');
}, 30_000);

test('the access token lifetime is configurable (default 1 h; KEYWARD_ACCESS_TOKEN_TTL_SECONDS), the poll interval defaults to 5 s', () => {
  expect(loadConfig({}).ttl.accessTokenSeconds).toBe(3600);
  expect(loadConfig({}).deviceFlow.intervalSeconds).toBe(5);
  expect(loadConfig({}).ttl.deviceCodeSeconds).toBe(600);
  expect(loadConfig({ KEYWARD_ACCESS_TOKEN_TTL_SECONDS: '600' }).ttl.accessTokenSeconds).toBe(600);
  expect(() => loadConfig({ KEYWARD_ACCESS_TOKEN_TTL_SECONDS: '0' })).toThrow(
    'KEYWARD_ACCESS_TOKEN_TTL_SECONDS must be an integer between 1 and 86400',
  );
});
