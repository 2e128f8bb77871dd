/**
 * Authenticator apps end to end: setup over the REST API, codes from oathtool (not otplib),
 * each code accepted once, ±1 step accepted and ±2 refused, sign-in with openid-client getting
 * amr/acr, acr_values and claims step-up, recovery codes, throttling, secrets at rest.
 */
import { signedInBrowser } from '../helpers/browserless.ts';
import { createUser, PASSWORD, startKeyward, type Keyward } from '../helpers/keyward.ts';
import { testClients } from '../helpers/clients.ts';
import { alignClock, api, oathtool, passwordStep, submitCode, webClient } from '../helpers/mfa.ts';
import { ACR_MFA } from '../../src/platform/auth/second-factor.ts';

let k: Keyward;
beforeAll(async () => {
  // Every test signs in from 127.0.0.1: the per-IP allowance is raised here; per-account throttling is tested below.
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
});
afterAll(async () => k?.stop());
beforeEach(() => {
  k.clock.offsetMs = 0;
}); // each test uses its own user, so TOTP steps never go backwards for one factor

/** Creates a user, signs in, enables an authenticator app; answers its secret and recovery codes. */
async function userWithTotp(username: string) {
  await createUser(k, username);
  const browser = await signedInBrowser(k.baseUrl, username, PASSWORD);
  const setup = await api(browser, k.baseUrl, 'POST', '/api/sso/mfa/otp');
  expect(setup.status).toBe(200);
  expect(setup.body.secret).toMatch(/^[A-Z2-7]{32}$/); // 160 bits
  expect(Buffer.from(setup.body.qrImage, 'base64').subarray(1, 4).toString()).toBe('PNG');
  const now = alignClock(k);
  const done = await api(browser, k.baseUrl, 'POST', '/api/sso/mfa/otp/verify', {
    code: oathtool(setup.body.secret, now),
  });
  expect(done.body.message).toBe('MFA setup successful');
  expect(done.body.recoveryCodes).toHaveLength(10);
  return {
    browser,
    secret: setup.body.secret as string,
    recoveryCodes: done.body.recoveryCodes as string[],
  };
}

test('setup is inactive until a valid code; wrong length and wrong codes are 4xx', async () => {
  await createUser(k, 'una');
  const browser = await signedInBrowser(k.baseUrl, 'una', PASSWORD);
  const setup = await api(browser, k.baseUrl, 'POST', '/api/sso/mfa/otp');
  expect((await api(browser, k.baseUrl, 'GET', '/api/sso/mfa')).body).toMatchObject({
    enabled: false,
    mfaSettings: [],
  });
  expect(
    (await api(browser, k.baseUrl, 'POST', '/api/sso/mfa/otp/verify', { code: '12345' })).status,
  ).toBe(400);
  const wrong = await api(browser, k.baseUrl, 'POST', '/api/sso/mfa/otp/verify', {
    code: String((Number(oathtool(setup.body.secret, alignClock(k))) + 1) % 1e6).padStart(6, '0'),
  });
  expect(wrong.status).toBe(401);
  expect((await api(browser, k.baseUrl, 'GET', '/api/sso/mfa')).body.enabled).toBe(false);
  // A wrong code (or a reload) keeps the setup in progress: no need to scan a new QR code.
  expect((await api(browser, k.baseUrl, 'POST', '/api/sso/mfa/otp')).body.secret).toBe(
    setup.body.secret,
  );
  // An abandoned setup leaves nothing enabled: signing in still needs only the password.
  const cfg = await webClient(k);
  expect((await passwordStep(k, cfg, 'una', PASSWORD)).callback).toBeDefined();
});

test('password + TOTP sign-in: amr and acr in the ID token; each code works once', async () => {
  const { secret } = await userWithTotp('vera');
  const cfg = await webClient(k);
  let now = alignClock(k) + 30; // a step after the one used at setup
  k.clock.offsetMs += 30_000;
  const pending = await passwordStep(k, cfg, 'vera', PASSWORD);
  expect(pending.page?.url).toMatch(/\/interaction\/[^/]+\/mfa$/);
  expect(pending.page?.html).toContain('2-step verification');
  const code = oathtool(secret, now);
  const ok = await submitCode(pending, 'otp', code);
  const tokens = await pending.finish(ok.callback!);
  const claims = tokens.claims()!;
  expect(claims.amr).toEqual(expect.arrayContaining(['pwd', 'otp', 'mfa']));
  expect(claims.acr).toBe(ACR_MFA);

  // Replay of the same code, and of the previous step's code (within ±1 but older), is refused.
  const again = await passwordStep(k, cfg, 'vera', PASSWORD);
  expect((await submitCode(again, 'otp', code)).status).toBe(401);
  expect((await submitCode(again, 'otp', oathtool(secret, now - 30))).status).toBe(401);
  now = alignClock(k) + 60;
  k.clock.offsetMs += 60_000;
  expect((await submitCode(again, 'otp', oathtool(secret, now))).callback).toBeDefined();
});

test('±1 step is accepted, ±2 steps are refused', async () => {
  const { secret } = await userWithTotp('walt');
  const cfg = await webClient(k);
  k.clock.offsetMs += 300_000;
  let now = alignClock(k);
  let s = await passwordStep(k, cfg, 'walt', PASSWORD);
  expect((await submitCode(s, 'otp', oathtool(secret, now - 60))).status).toBe(401);
  expect((await submitCode(s, 'otp', oathtool(secret, now + 60))).status).toBe(401);
  expect((await submitCode(s, 'otp', oathtool(secret, now - 30))).callback).toBeDefined();
  k.clock.offsetMs += 300_000;
  now = alignClock(k);
  s = await passwordStep(k, cfg, 'walt', PASSWORD);
  expect((await submitCode(s, 'otp', oathtool(secret, now + 30))).callback).toBeDefined();
});

test('acr_values and the claims parameter step up a password-only session', async () => {
  await createUser(k, 'xena');
  const cfg = await webClient(k);
  const first = await passwordStep(k, cfg, 'xena', PASSWORD);
  expect((await first.finish(first.callback!)).claims()!.acr).toBe('urn:keyward:acr:pwd');
  // The user turns on an authenticator app in the same browser session (which stays valid).
  const browser = first.browser;
  const setup = await api(browser, k.baseUrl, 'POST', '/api/sso/mfa/otp');
  expect(setup.status).toBe(200);
  let now = alignClock(k);
  await api(browser, k.baseUrl, 'POST', '/api/sso/mfa/otp/verify', {
    code: oathtool(setup.body.secret, now),
  });

  k.clock.offsetMs += 30_000;
  now += 30;
  const stepUp = await passwordStep(k, cfg, 'xena', PASSWORD, { acr_values: ACR_MFA }, browser);
  expect(stepUp.page?.url).toMatch(/\/mfa$/); // no password asked again: straight to the second factor
  const done = await submitCode(stepUp, 'otp', oathtool(setup.body.secret, now));
  expect((await stepUp.finish(done.callback!)).claims()!.acr).toBe(ACR_MFA);

  // A claims-parameter request for the mfa acr on a fresh password-only session is stepped up too.
  k.clock.offsetMs += 30_000;
  now += 30;
  const claimsReq = await passwordStep(k, cfg, 'xena', PASSWORD, {
    claims: JSON.stringify({ id_token: { acr: { essential: true, value: ACR_MFA } } }),
  });
  expect(claimsReq.page?.url).toMatch(/\/mfa$/);
  const claimsDone = await submitCode(claimsReq, 'otp', oathtool(setup.body.secret, now));
  expect((await claimsReq.finish(claimsDone.callback!)).claims()!.amr).toContain('otp');
});

test('recovery codes: each works once; regenerating needs sudo and invalidates the old set', async () => {
  const { browser, secret, recoveryCodes } = await userWithTotp('yuri');
  const cfg = await webClient(k);
  const first = await passwordStep(k, cfg, 'yuri', PASSWORD);
  expect(
    (await submitCode(first, 'recovery', recoveryCodes[0].toUpperCase())).callback,
  ).toBeDefined();
  const s = await passwordStep(k, cfg, 'yuri', PASSWORD);
  expect((await submitCode(s, 'recovery', recoveryCodes[0])).status).toBe(401);

  // The session from before 2-step verification was turned on must confirm with the second factor first.
  const refused = await api(browser, k.baseUrl, 'POST', '/api/sso/mfa/recovery-codes');
  expect(refused.status).toBe(403);
  expect(refused.body).toMatchObject({ code: 'sudo_required', params: { method: 'mfa' } });
  expect(
    (
      await api(browser, k.baseUrl, 'POST', '/api/account/verify', {
        method: 'password',
        password: PASSWORD,
      })
    ).status,
  ).toBe(400);
  k.clock.offsetMs += 30_000;
  expect(
    (
      await api(browser, k.baseUrl, 'POST', '/api/account/verify', {
        method: 'otp',
        code: oathtool(secret, alignClock(k)),
      })
    ).status,
  ).toBe(204);
  const fresh = await api(browser, k.baseUrl, 'POST', '/api/sso/mfa/recovery-codes');
  expect(fresh.body.recoveryCodes).toHaveLength(10);
  // The session signed in with a recovery code may regenerate directly (it just used a second factor).
  expect((await api(first.browser, k.baseUrl, 'GET', '/api/sso/mfa')).body.recoveryCodesLeft).toBe(
    10,
  );

  expect((await submitCode(s, 'recovery', recoveryCodes[1])).status).toBe(401);
  expect((await submitCode(s, 'recovery', fresh.body.recoveryCodes[0])).callback).toBeDefined();
  const events = (await api(browser, k.baseUrl, 'GET', '/api/account/events')).body.map(
    (e: { type: string }) => e.type,
  );
  expect(events).toEqual(
    expect.arrayContaining([
      'mfa.factor_added',
      'mfa.recovery_codes_generated',
      'mfa.recovery_code_used',
      'mfa.recovery',
    ]),
  );
});

test('wrong codes are throttled per account', async () => {
  await userWithTotp('zack');
  const cfg = await webClient(k);
  const s = await passwordStep(k, cfg, 'zack', PASSWORD);
  for (let i = 0; i < 5; i++) expect((await submitCode(s, 'otp', '000000')).status).toBe(401);
  const blocked = await submitCode(s, 'otp', '000000');
  expect(blocked.status).toBe(429);
  expect(blocked.html).toContain('Too many wrong codes');
});

test('no TOTP seed or recovery code is stored in clear', async () => {
  const { secret, recoveryCodes } = await userWithTotp('quinn');
  const all = JSON.stringify(
    await Promise.all(
      (await k.db.listCollections().toArray()).map((c) => k.db.collection(c.name).find().toArray()),
    ),
  );
  expect(all).not.toContain(secret);
  for (const c of recoveryCodes) {
    expect(all).not.toContain(c);
    expect(all).not.toContain(c.replace('-', ''));
  }
  const factor = await k.db.collection('mfa_factors').findOne({ type: 'otp', enabled: true });
  expect(Object.keys(factor!.otp.seed).sort()).toEqual(['ct', 'iv', 'kek', 'tag', 'v', 'wk']);
});

test('a half-finished sign-in (password only, factor pending) is not a session for the account pages', async () => {
  await userWithTotp('rita');
  const cfg = await webClient(k);
  const s = await passwordStep(k, cfg, 'rita', PASSWORD);
  expect(s.page?.url).toMatch(/\/mfa$/);
  expect((await api(s.browser, k.baseUrl, 'GET', '/api/sso/mfa')).status).toBe(401);
  const page = await s.browser.fetch(`${k.baseUrl}/account`);
  expect(page.status).toBe(302);
});
