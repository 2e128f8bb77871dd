/**
 * Throttles that count before they work: a burst of simultaneous wrong passwords, TOTP codes or
 * device codes gets at most the free allowance evaluated, the rest 429. And no lockout denial of
 * service: failures from elsewhere never refuse a browser that signed in to the account before.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Browser, formAction, formField, signedInBrowser } from '../helpers/browserless.ts';
import { createUser, PASSWORD, startKeyward, type Keyward } from '../helpers/keyward.ts';
import { RP_CALLBACK, testClients } from '../helpers/clients.ts';
import { alignClock, api, oathtool, passwordStep, submitCode, webClient } from '../helpers/mfa.ts';
import { atOnce, wins } from '../helpers/at-once.ts';
import { ThrottleService } from '../../src/platform/throttle/throttle-service.ts';

const FREE = 5;
const account = {
  freeAttempts: FREE,
  baseDelaySeconds: 1,
  maxDelaySeconds: 900,
  maxConsecutiveFailures: 100,
  lockSeconds: 3600,
  resetAfterSeconds: 86400,
};
// The per-IP rules are out of the way (every request comes from 127.0.0.1), except where tested.
const roomyIp = { ...account, freeAttempts: 1000, maxConsecutiveFailures: 1000 };
let k: Keyward;

beforeAll(async () => {
  k = await startKeyward({
    clients: testClients,
    throttle: { account, ip: roomyIp, mfa: account },
    deviceFlow: {
      intervalSeconds: 1,
      throttle: {
        ip: roomyIp,
        account: {
          ...account,
          maxConsecutiveFailures: FREE,
          lockSeconds: 900,
          resetAfterSeconds: 900,
        },
      },
    },
  });
});
afterAll(async () => k?.stop());
beforeEach(() => {
  k.clock.offsetMs = 0;
});

/** A sign-in page of test-web in `browser`; answers a function that submits its form. */
async function signInForm(browser = new Browser()) {
  const verifier = randomBytes(32).toString('base64url');
  const url = new URL(`${k.issuer}/authorize`);
  url.search = new URLSearchParams({
    client_id: 'test-web',
    response_type: 'code',
    scope: 'openid',
    redirect_uri: RP_CALLBACK,
    state: 's',
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
  }).toString();
  const { res, url: pageUrl } = await browser.follow(url.toString());
  const html = await res.text();
  const action = new URL(formAction(html, '/login'), pageUrl).toString();
  const csrf = formField(html, '_csrf');
  return async (username: string, password: string) =>
    (await browser.postForm(action, { _csrf: csrf, username, password })).status;
}

test(`24 simultaneous wrong passwords: at most ${FREE} are checked, the rest are 429`, async () => {
  await createUser(k, 'burst');
  const forms = await Promise.all(Array.from({ length: 24 }, () => signInForm()));
  const statuses = await atOnce(24, (i) => forms[i]('burst', `wrong password number ${i}`));
  expect(wins(statuses, (s) => s === 401)).toBeLessThanOrEqual(FREE);
  expect(wins(statuses, (s) => s === 401)).toBeGreaterThan(0);
  expect(wins(statuses, (s) => s === 429)).toBe(24 - wins(statuses, (s) => s === 401));
});

test(`20 simultaneous wrong TOTP codes: at most ${FREE} are checked, the rest are 429`, async () => {
  await createUser(k, 'totpburst');
  const browser = await signedInBrowser(k.baseUrl, 'totpburst', PASSWORD);
  const secret = (await api(browser, k.baseUrl, 'POST', '/api/sso/mfa/otp')).body.secret as string;
  expect(
    (
      await api(browser, k.baseUrl, 'POST', '/api/sso/mfa/otp/verify', {
        code: oathtool(secret, alignClock(k)),
      })
    ).status,
  ).toBe(200);
  const pending = await passwordStep(k, await webClient(k), 'totpburst', PASSWORD);
  expect(pending.page?.url).toMatch(/\/mfa$/);
  const right = oathtool(secret, alignClock(k) + 30);
  const wrong = String((Number(right) + 1) % 1_000_000).padStart(6, '0');
  const results = await atOnce(20, () => submitCode(pending, 'otp', wrong));
  expect(wins(results, (r) => r.status === 401)).toBeLessThanOrEqual(FREE);
  expect(wins(results, (r) => r.status === 429)).toBeGreaterThanOrEqual(20 - FREE);
});

test(`simultaneous wrong device codes: at most ${FREE} are looked at, the rest are 429`, async () => {
  await createUser(k, 'devburst');
  const browser = await signedInBrowser(k.baseUrl, 'devburst', PASSWORD);
  // One code-entry page (its xsrf token), then 16 different wrong codes posted at once.
  const page = await browser.fetch(`${k.issuer}/device`);
  const html = await page.text();
  const action = new URL(formAction(html, '/device'), k.issuer).toString();
  const xsrf = formField(html, 'xsrf');
  const codes = Array.from({ length: 16 }, (_, i) => `BCDF-GHJ${'LMNPQRSTVWXZBCDF'[i]}`);
  const results = await atOnce(16, async (i) => ({
    status: (await browser.postForm(action, { xsrf, user_code: codes[i] })).status,
  }));
  expect(wins(results, (r) => r.status === 429)).toBeGreaterThanOrEqual(16 - FREE);
  // Every code that was looked at and found wrong is a stored failure: no more than the allowance.
  const accountId = (await k.container.accounts.findByLogin('devburst'))!.id;
  expect(
    await k.db
      .collection('throttle_failures')
      .countDocuments({ key: `device-code:acct:${accountId}` }),
  ).toBeLessThanOrEqual(FREE);
});

describe('no lockout denial of service', () => {
  test("an attacker's failures from elsewhere do not refuse the owner's known browser", async () => {
    await createUser(k, 'victim');
    const owner = new Browser();
    expect(await (await signInForm(owner))('victim', PASSWORD)).toBe(303); // the browser is now known
    for (let i = 0; i < FREE + 1; i++) await (await signInForm())('victim', `attacker guess ${i}`);
    // From an unknown client the account is throttled (even the right password waits) …
    expect(await (await signInForm())('victim', PASSWORD)).toBe(429);
    // … but the owner's browser, which signed in before, is not.
    expect(await (await signInForm(owner))('victim', PASSWORD)).toBe(303);
  });

  test('a known browser is throttled on its own failures', async () => {
    await createUser(k, 'typo');
    const owner = new Browser();
    expect(await (await signInForm(owner))('typo', PASSWORD)).toBe(303);
    for (let i = 0; i < FREE; i++)
      expect(await (await signInForm(owner))('typo', `typo ${i}`)).toBe(401);
    expect(await (await signInForm(owner))('typo', PASSWORD)).toBe(429);
    // An unknown client is unaffected by the owner's own typos.
    expect(await (await signInForm())('typo', PASSWORD)).toBe(303);
  });

  test('a device cookie for another account, or a forged one, counts as an unknown client', async () => {
    await createUser(k, 'other');
    await createUser(k, 'target');
    const browser = new Browser();
    expect(await (await signInForm(browser))('other', PASSWORD)).toBe(303);
    for (let i = 0; i < FREE + 1; i++) await (await signInForm())('target', `guess ${i}`);
    expect(await (await signInForm(browser))('target', PASSWORD)).toBe(429);
    const forged = new Browser();
    forged.cookies.set(
      'kw.device',
      Buffer.from(JSON.stringify({ a: 'x', d: 'y' })).toString('base64url'),
    );
    forged.cookies.set('kw.device.sig', 'forged');
    expect(await (await signInForm(forged))('target', PASSWORD)).toBe(429);
  });

  test('100 consecutive failures from unknown clients stop the account for the lock period (NIST 800-63B)', async () => {
    const victim = await createUser(k, 'hundred');
    const from = { ip: '203.0.113.7' };
    for (let i = 0; i < 99; i++) {
      await expect(
        k.container.accounts.authenticate('hundred', `guess ${i}`, from),
      ).rejects.toMatchObject({ code: 'unauthenticated' });
      k.clock.offsetMs += (ThrottleService.delaySeconds(account, i + 1) + 1) * 1000; // past the next delay
    }
    await expect(
      k.container.accounts.authenticate('hundred', 'the 100th guess', from),
    ).rejects.toMatchObject({ code: 'unauthenticated' });
    k.clock.offsetMs += 900_000;
    await expect(
      k.container.accounts.authenticate('hundred', PASSWORD, from),
    ).rejects.toMatchObject({ code: 'rate_limited' });
    k.clock.offsetMs += 2700_000;
    expect((await k.container.accounts.authenticate('hundred', PASSWORD, from)).id).toBe(victim.id);
  }, 120_000);
});
