/**
 * Organization MFA policies at sign-in: enforce-mfa sends a member without a factor to set one
 * up (with an optional grace period), enforce-webauthn-mfa refuses authenticator-app sign-in and
 * asks for a security key, existing sessions are re-checked, admins reset members' factors, and a
 * required last factor cannot be removed.
 */
import { Browser, formField, signedInBrowser } from '../helpers/browserless.ts';
import { createUser, PASSWORD, startKeyward, type Keyward } from '../helpers/keyward.ts';
import { RP_CALLBACK, testClients } from '../helpers/clients.ts';
import { alignClock, api, oathtool, passwordStep, submitCode, webClient } from '../helpers/mfa.ts';

let k: Keyward;
let platform: Browser;
let admin: Browser;

beforeAll(async () => {
  k = await startKeyward({
    clients: testClients,
    throttle: {
      ip: {
        freeAttempts: 500,
        baseDelaySeconds: 1,
        maxDelaySeconds: 900,
        maxConsecutiveFailures: 1000,
        lockSeconds: 3600,
        resetAfterSeconds: 3600,
      },
    },
  });
  const root = await createUser(k, 'root');
  await k.db
    .collection('accounts')
    .updateOne({ _id: root.id as never }, { $set: { platformAdmin: true } });
  await createUser(k, 'ada', { org: 'acme', admin: true });
  platform = await signedInBrowser(k.baseUrl, 'root', PASSWORD);
  admin = await signedInBrowser(k.baseUrl, 'ada', PASSWORD);
});
afterAll(async () => k?.stop());
beforeEach(() => {
  k.clock.offsetMs = 0;
});

const setOrgPolicy = (name: string, value: unknown) =>
  api(platform, k.baseUrl, 'POST', `/api/organizations/acme/policies/${name}`, value);
const clearOrgPolicy = (name: string) =>
  api(platform, k.baseUrl, 'DELETE', `/api/organizations/acme/policies/${name}`);

/** On the enrolment page: set up the authenticator from the page's secret; answers the callback URL. */
async function enrolFromPage(s: Awaited<ReturnType<typeof passwordStep>>) {
  const html = s.page!.html;
  const secret = /<code id="otp-secret">([A-Z2-7]+)<\/code>/.exec(html)![1];
  const enrolUrl = `${s.page!.url.replace(/\/enroll$/, '')}/enroll/otp`;
  const res = await s.browser.postForm(enrolUrl, {
    _csrf: formField(html, '_csrf'),
    code: oathtool(secret, alignClock(k)),
  });
  const codesPage = await res.text();
  expect(res.status).toBe(200);
  expect(codesPage).toContain('Save these recovery codes');
  const cont = await s.browser.postForm(
    new URL('continue', `${s.page!.url.replace(/\/enroll$/, '')}/`).toString(),
    { _csrf: formField(codesPage, '_csrf') },
  );
  expect(cont.status).toBe(303);
  const done = await s.browser.follow(
    new URL(cont.headers.get('location')!, k.baseUrl).toString(),
    (u) => u.startsWith(RP_CALLBACK),
  );
  return { callback: done.url, secret };
}

test('enforce-mfa: only platform admins may set it; members without a factor enrol at sign-in', async () => {
  expect(
    (await api(admin, k.baseUrl, 'POST', '/api/organizations/acme/policies/enforce-mfa', true))
      .status,
  ).toBe(403);
  await createUser(k, 'bea', { org: 'acme' });
  const cfg = await webClient(k);
  const before = await passwordStep(k, cfg, 'bea', PASSWORD);
  expect(before.callback).toBeDefined(); // no policy yet: password only
  const oldSession = before.browser;
  expect((await api(oldSession, k.baseUrl, 'GET', '/api/sso/mfa')).status).toBe(200);

  expect((await setOrgPolicy('enforce-mfa', true)).status).toBe(200);
  // The existing session no longer counts, and its next authorization asks for enrolment.
  expect((await api(oldSession, k.baseUrl, 'GET', '/api/sso/mfa')).status).toBe(401);
  const s = await passwordStep(k, cfg, 'bea', PASSWORD, {}, oldSession);
  expect(s.page!.url).toMatch(/\/mfa\/enroll$/);
  expect(s.page!.html).toContain('Your organization requires 2-step verification.');
  expect(s.page!.html).not.toContain('Skip for now');
  const { callback } = await enrolFromPage(s);
  expect((await s.finish(callback)).claims()!.amr).toEqual(
    expect.arrayContaining(['pwd', 'otp', 'mfa']),
  );
  expect((await api(s.browser, k.baseUrl, 'GET', '/api/sso/mfa')).body).toMatchObject({
    enabled: true,
    enforceMfa: true,
  });
  await clearOrgPolicy('enforce-mfa');
});

test('a grace period lets members skip enrolment until it ends', async () => {
  await createUser(k, 'cal', { org: 'acme' });
  await setOrgPolicy('mfa-grace-period-hours', 24);
  await setOrgPolicy('enforce-mfa', true);
  const cfg = await webClient(k);
  const s = await passwordStep(k, cfg, 'cal', PASSWORD);
  expect(s.page!.html).toContain('Skip for now');
  const skip = await s.browser.postForm(
    new URL('skip', `${s.page!.url.replace(/\/enroll$/, '')}/`).toString(),
    { _csrf: formField(s.page!.html, '_csrf') },
  );
  expect(skip.status).toBe(303);
  const done = await s.browser.follow(
    new URL(skip.headers.get('location')!, k.baseUrl).toString(),
    (u) => u.startsWith(RP_CALLBACK),
  );
  expect(done.url.startsWith(RP_CALLBACK)).toBe(true);
  expect((await passwordStep(k, cfg, 'cal', PASSWORD)).callback).toBeDefined(); // not asked again during the grace period
  k.clock.offsetMs += 25 * 3600_000;
  const after = await passwordStep(k, cfg, 'cal', PASSWORD);
  expect(after.page!.url).toMatch(/\/mfa\/enroll$/);
  expect(after.page!.html).not.toContain('Skip for now');
  await clearOrgPolicy('enforce-mfa');
  await clearOrgPolicy('mfa-grace-period-hours');
});

test('enforce-webauthn-mfa refuses authenticator-app sign-in and asks for a security key', async () => {
  await createUser(k, 'dan', { org: 'acme' });
  const browser = await signedInBrowser(k.baseUrl, 'dan', PASSWORD);
  const setup = await api(browser, k.baseUrl, 'POST', '/api/sso/mfa/otp');
  const secret = setup.body.secret as string;
  await api(browser, k.baseUrl, 'POST', '/api/sso/mfa/otp/verify', {
    code: oathtool(secret, alignClock(k)),
  });
  expect((await setOrgPolicy('enforce-webauthn-mfa', 'hardware')).status).toBe(200);
  expect((await setOrgPolicy('enforce-webauthn-mfa', 'software')).status).toBe(400);
  // The member's own session now lacks what the policy requires: it no longer counts.
  expect((await api(browser, k.baseUrl, 'GET', '/api/sso/mfa')).status).toBe(401);

  const cfg = await webClient(k);
  const s = await passwordStep(k, cfg, 'dan', PASSWORD);
  expect(s.page!.url).toMatch(/\/mfa\/enroll$/); // has no key: must register one
  expect(s.page!.html).toContain('Your organization requires a security key to sign in.');
  expect(s.page!.html).toContain('Register security key');
  expect(s.page!.html).not.toContain('otp-secret');
  k.clock.offsetMs += 30_000;
  const viaApp = await submitCode(
    { ...s, page: { ...s.page!, url: s.page!.url.replace(/\/enroll$/, '') } },
    'otp',
    oathtool(secret, alignClock(k)),
  );
  expect(viaApp.status).toBe(403);
  await clearOrgPolicy('enforce-webauthn-mfa');
});

test('a required last factor cannot be removed; admins can reset a member', async () => {
  await createUser(k, 'eve', { org: 'acme' });
  await setOrgPolicy('enforce-mfa', true);
  const cfg = await webClient(k);
  const s = await passwordStep(k, cfg, 'eve', PASSWORD);
  await enrolFromPage(s);
  const me = await api(s.browser, k.baseUrl, 'GET', '/api/sso/mfa');
  const factorId = me.body.mfaSettings[0].id;
  const removal = await api(s.browser, k.baseUrl, 'DELETE', '/api/sso/mfa', { id: factorId });
  expect(removal.status).toBe(403);
  expect(removal.body.message).toBe(
    'Your organization requires 2-step verification: add another factor before removing this one.',
  );
  expect(
    (await api(s.browser, k.baseUrl, 'DELETE', '/api/sso/mfa', { removeAll: true })).status,
  ).toBe(403);
  expect((await api(s.browser, k.baseUrl, 'DELETE', '/api/sso/mfa', { id: 'nope' })).status).toBe(
    404,
  );
  expect((await api(s.browser, k.baseUrl, 'DELETE', '/api/sso/mfa', {})).status).toBe(400);

  // While the policy is enforced the org admin (without a factor herself) is also asked to enrol;
  // she resets Eve after the policy is lifted.
  expect((await api(admin, k.baseUrl, 'GET', '/api/organizations/acme/policies')).status).toBe(401);
  await clearOrgPolicy('enforce-mfa');
  expect(
    (await api(new Browser(), k.baseUrl, 'DELETE', '/api/organizations/acme/users/eve/mfa')).status,
  ).toBe(401);
  expect(
    (await api(admin, k.baseUrl, 'DELETE', '/api/organizations/acme/users/nobody/mfa')).status,
  ).toBe(404);
  expect(
    (await api(admin, k.baseUrl, 'DELETE', '/api/organizations/acme/users/eve/mfa')).status,
  ).toBe(204);
  const eve = await k.container.accounts.findByLogin('eve');
  expect(await k.db.collection('mfa_factors').countDocuments({ accountId: eve!.id })).toBe(0);
  expect(await k.db.collection('recovery_codes').countDocuments({ accountId: eve!.id })).toBe(0);
  const events = (await api(admin, k.baseUrl, 'GET', '/api/organizations/acme/events')).body.map(
    (e: { type: string }) => e.type,
  );
  expect(events).toEqual(expect.arrayContaining(['mfa.admin_reset', 'mfa.factor_added']));
  await createUser(k, 'fay', { org: 'acme' });
  const fay = await signedInBrowser(k.baseUrl, 'fay', PASSWORD);
  expect(
    (await api(fay, k.baseUrl, 'DELETE', '/api/organizations/acme/users/eve/mfa')).status,
  ).toBe(403);
  expect((await passwordStep(k, cfg, 'eve', PASSWORD)).callback).toBeDefined(); // no factor left, no policy: password only
});

test('a platform value wins over the organization', async () => {
  await createUser(k, 'gus', { org: 'acme' });
  await setOrgPolicy('enforce-mfa', true);
  expect(
    (await api(platform, k.baseUrl, 'POST', '/api/platform/policies/enforce-mfa', false)).status,
  ).toBe(200);
  const cfg = await webClient(k);
  expect((await passwordStep(k, cfg, 'gus', PASSWORD)).callback).toBeDefined();
  await api(platform, k.baseUrl, 'DELETE', '/api/platform/policies/enforce-mfa');
  expect((await passwordStep(k, cfg, 'gus', PASSWORD)).page!.url).toMatch(/\/mfa\/enroll$/);
  await clearOrgPolicy('enforce-mfa');
});

test('the admin page sets policies and resets a member', async () => {
  await createUser(k, 'hal', { org: 'acme' });
  const hal = await signedInBrowser(k.baseUrl, 'hal', PASSWORD);
  const setup = await api(hal, k.baseUrl, 'POST', '/api/sso/mfa/otp');
  await api(hal, k.baseUrl, 'POST', '/api/sso/mfa/otp/verify', {
    code: oathtool(setup.body.secret, alignClock(k)),
  });

  const page = await admin.fetch(`${k.baseUrl}/account/admin`);
  const html = await page.text();
  expect(page.status).toBe(200);
  expect(html).toContain('enforce-mfa');
  expect(html).toMatch(/hal[\s\S]*?On/);
  const csrf = formField(html, '_csrf');
  const grace = await admin.postForm(
    `${k.baseUrl}/account/admin/acme/policies/mfa-grace-period-hours`,
    { _csrf: csrf, value: '12' },
  );
  expect(grace.status).toBe(303); // post/redirect/get
  expect(
    await k.container.policies.effective(
      'mfa-grace-period-hours',
      (await k.container.organizations.findByName('acme'))!.id,
    ),
  ).toBe(12);
  const bad = await admin.postForm(
    `${k.baseUrl}/account/admin/acme/policies/mfa-grace-period-hours`,
    { _csrf: csrf, value: '9999' },
  );
  expect(bad.status).toBe(400);
  expect(await bad.text()).toContain('Invalid value for policy');
  const platformOnly = await admin.postForm(
    `${k.baseUrl}/account/admin/acme/policies/enforce-mfa`,
    { _csrf: csrf, value: 'true' },
  );
  expect(platformOnly.status).toBe(403);
  await admin.postForm(`${k.baseUrl}/account/admin/acme/policies/mfa-grace-period-hours`, {
    _csrf: csrf,
    value: '',
  });

  const reset = await admin.postForm(`${k.baseUrl}/account/admin/acme/users/hal/mfa-reset`, {
    _csrf: csrf,
  });
  expect(reset.status).toBe(303);
  expect((await api(hal, k.baseUrl, 'GET', '/api/sso/mfa')).body.enabled).toBe(false);
  const forged = await admin.postForm(`${k.baseUrl}/account/admin/acme/users/hal/mfa-reset`, {
    _csrf: 'nope',
  });
  expect(forged.status).toBe(403);
});
