/**
 * What stands in front of the device pages: wrong-code throttling per IP and per account (a clear
 * "too many attempts" page; the provider is not reached), and the `disable-device-login` policy
 * refusing approval with a clear message while the device is told `access_denied`, also when a
 * sign-in in the middle of the flow changes who approves.
 */
import { Browser, formField, signedInBrowser } from '../helpers/browserless.ts';
import { createUser, PASSWORD, startKeyward, type Keyward } from '../helpers/keyward.ts';
import { approve, enterCode, pollOnce, startDevice } from '../helpers/device.ts';

let k: Keyward;

beforeAll(async () => {
  k = await startKeyward({ trustProxy: true, deviceFlow: { intervalSeconds: 1 } });
  await createUser(k, 'Alice', { org: 'acme' });
  await createUser(k, 'Bob', { org: 'acme' });
  await createUser(k, 'Carol', { org: 'strict', admin: true });
  await createUser(k, 'Dave', { org: 'strict' });
  await createUser(k, 'Erin');
});
afterAll(async () => k?.stop());
afterEach(() => {
  k.clock.offsetMs = 0;
});

/** One code entry from an IP (X-Forwarded-For; the server trusts the proxy here). */
async function enter(browser: Browser, ip: string, code: string, path = '/device') {
  const headers = { 'x-forwarded-for': ip };
  const page = await browser.fetch(`${k.issuer}/device`, { headers });
  const html = await page.text();
  if (page.status !== 200)
    return { status: page.status, html, retryAfter: page.headers.get('retry-after') };
  const res = await browser.fetch(`${k.issuer}${path}`, {
    method: 'POST',
    body: new URLSearchParams({ xsrf: formField(html, 'xsrf'), user_code: code }),
    headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' },
  });
  return { status: res.status, html: await res.text(), retryAfter: res.headers.get('retry-after') };
}

test('wrong codes: 5 per account and per IP, then "too many attempts" for 15 minutes, even with the right code', async () => {
  const alice = await signedInBrowser(k.baseUrl, 'alice', PASSWORD);
  for (let i = 1; i <= 4; i++) {
    const r = await enter(alice, '10.0.0.1', 'BBBB-BBBB');
    expect(r.status).toBe(200);
    expect(r.html).toContain('That code is not valid.');
  }
  const fifth = await enter(alice, '10.0.0.1', 'BBBB-BBBB');
  expect(fifth.status).toBe(429);
  expect(fifth.html).toContain('Too many attempts');
  expect(fifth.html).toContain('You can try again in 15 minutes.');
  expect(Number(fifth.retryAfter)).toBeGreaterThan(890);

  // Locked: the page itself, the right code, another IP (account rule), another spelling of the path.
  const start = await startDevice(k.issuer);
  expect(
    (await alice.fetch(`${k.issuer}/device`, { headers: { 'x-forwarded-for': '10.0.0.1' } }))
      .status,
  ).toBe(429);
  expect((await enter(alice, '10.9.9.9', start.user_code)).status).toBe(429);
  const sneaky = await alice.fetch(`${k.issuer}/DEVICE/`, {
    method: 'POST',
    body: new URLSearchParams({ user_code: start.user_code }),
    headers: { 'x-forwarded-for': '10.9.9.9', 'content-type': 'application/x-www-form-urlencoded' },
  });
  expect(sneaky.status).toBe(429);
  expect((await pollOnce(k.issuer, start.device_code)).body.error).toBe('authorization_pending');

  // The IP rule: Bob, from the same address, is locked too; from his own address he is not.
  const bob = await signedInBrowser(k.baseUrl, 'bob', PASSWORD);
  expect((await enter(bob, '10.0.0.1', start.user_code)).status).toBe(429);
  const fromElsewhere = await enter(bob, '10.0.0.2', start.user_code);
  expect(fromElsewhere.status).toBe(200);
  expect(fromElsewhere.html).toContain('Sign in on this device?');

  const events = await k.container.audit.forAccount(
    (await k.container.accounts.findByLogin('alice'))!.id,
  );
  expect(events.map((e) => e.type)).toContain('device.code_locked');

  // 15 minutes later Alice may try again.
  k.clock.offsetMs = 16 * 60_000;
  const later = await enter(alice, '10.0.0.1', 'BBBB-BBBB');
  expect(later.status).toBe(200);
  expect(later.html).toContain('That code is not valid.');
}, 30_000);

test('disable-device-login set by an org admin: members are refused at approval with a clear page, and the device gets access_denied', async () => {
  const carol = await signedInBrowser(k.baseUrl, 'carol', PASSWORD);
  const set = await carol.fetch(
    `${k.baseUrl}/api/organizations/strict/policies/disable-device-login`,
    {
      method: 'POST',
      body: 'true',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
    },
  );
  expect(set.status).toBe(200);

  const dave = await signedInBrowser(k.baseUrl, 'dave', PASSWORD);
  const start = await startDevice(k.issuer, { device_name: 'daves-laptop' });
  const refused = await enterCode(dave, k.issuer, start.user_code);
  expect(refused.status).toBe(403);
  expect(refused.html).toContain('Device sign\u2011in is not allowed');
  expect(refused.html).toContain(
    'Your organization &quot;strict&quot; does not allow signing in on a device with a one-time code (policy disable-device-login).',
  );
  expect(refused.html).not.toContain('op.deviceConfirmForm');
  const polled = await pollOnce(k.issuer, start.device_code);
  expect(polled.body).toMatchObject({ error: 'access_denied' });
  expect(polled.body.error_description).toContain('does not allow signing in on a device');
  const events = await k.container.audit.forAccount(
    (await k.container.accounts.findByLogin('dave'))!.id,
  );
  expect(events.find((e) => e.type === 'device.refused')).toMatchObject({
    outcome: 'failure',
    details: { policy: 'disable-device-login', pending: true },
  });

  // Other organizations are not affected.
  const bob = await signedInBrowser(k.baseUrl, 'bob', PASSWORD);
  const other = await startDevice(k.issuer);
  expect((await approve(bob, k.issuer, other.user_code)).html).toContain('Device signed in');

  // Cleared: Dave may sign in devices again.
  expect(
    (
      await carol.fetch(`${k.baseUrl}/api/organizations/strict/policies/disable-device-login`, {
        method: 'DELETE',
        headers: { accept: 'application/json' },
      })
    ).status,
  ).toBe(204);
  const again = await startDevice(k.issuer);
  expect((await approve(dave, k.issuer, again.user_code)).html).toContain('Device signed in');
});

test('a platform-level disable-device-login applies to everyone, including people in no organization', async () => {
  await k.container.policies.set('platform', 'disable-device-login', true);
  try {
    const erin = await signedInBrowser(k.baseUrl, 'erin', PASSWORD);
    const start = await startDevice(k.issuer);
    const refused = await enterCode(erin, k.issuer, start.user_code);
    expect(refused.status).toBe(403);
    expect(refused.html).toContain('turned off on this platform');
    expect((await pollOnce(k.issuer, start.device_code)).body.error).toBe('access_denied');
  } finally {
    await k.container.policies.clear('platform', 'disable-device-login');
  }
});

test('the policy is checked again when the approval resumes after its interaction step (switched on mid-flow)', async () => {
  const strict = `org:${(await k.container.organizations.findByName('strict'))!.id}`;
  const dave = await signedInBrowser(k.baseUrl, 'dave', PASSWORD);
  const start = await startDevice(k.issuer);
  const confirm = await enterCode(dave, k.issuer, start.user_code);
  const form = confirm.html.slice(confirm.html.indexOf('<form id="op.deviceConfirmForm"'));
  const approved = await dave.postForm(`${k.issuer}/device`, {
    xsrf: formField(form, 'xsrf'),
    user_code: formField(form, 'user_code'),
    confirm: 'yes',
  });
  // A native client always passes through an interaction step (consent, given automatically for first-party apps)...
  expect(approved.status).toBe(303);
  expect(approved.headers.get('location')).toMatch(/^\/interaction\//);
  // ...and the organization turns device sign-in off before the browser gets back.
  await k.container.policies.set(strict, 'disable-device-login', true);
  try {
    const end = await dave.follow(new URL(approved.headers.get('location')!, k.baseUrl).toString());
    expect(end.url).toMatch(/\/api\/oidc\/device\/[^/]+$/);
    expect(end.res.status).toBe(403);
    expect(await end.res.text()).toContain('does not allow signing in on a device');
    expect((await pollOnce(k.issuer, start.device_code)).body.error).toBe('access_denied');
  } finally {
    await k.container.policies.clear(strict, 'disable-device-login');
  }
}, 30_000);
