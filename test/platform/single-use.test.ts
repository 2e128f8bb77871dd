/**
 * Single use under concurrency: N identical requests at once, exactly one wins. Sequential
 * replays are covered where each feature is tested; here the requests race, as an attacker
 * replaying a stolen code or token in parallel with its owner would make them. The database is
 * FerretDB in CI, whose conditional updates are not atomic: only the once-marker insert is.
 */
import * as oidc from 'openid-client';
import { Browser, signIn, signedInBrowser } from '../helpers/browserless.ts';
import { createUser, PASSWORD, startKeyward, type Keyward } from '../helpers/keyward.ts';
import { RP_CALLBACK, WEB_SECRET, testClients } from '../helpers/clients.ts';
import { approve, DEVICE_GRANT, startDevice } from '../helpers/device.ts';
import { alignClock, api, oathtool, passwordStep, submitCode, webClient } from '../helpers/mfa.ts';
import { atOnce, wins } from '../helpers/at-once.ts';

const N = 16;
const PW_CLI = {
  client_id: 'pw-cli',
  client_name: 'Platform CLI',
  token_endpoint_auth_method: 'none',
  application_type: 'native',
  redirect_uris: ['http://127.0.0.1/callback'],
  grant_types: ['urn:ietf:params:oauth:grant-type:device_code', 'refresh_token'],
  response_types: [],
  scope: 'openid profile email offline_access',
  firstParty: true,
};
// Many sign-ins from 127.0.0.1 and N attempts at once: the allowances are raised so that what is
// measured here is single use, not throttling (throttle.test.ts covers that).
const roomy = {
  freeAttempts: 500,
  baseDelaySeconds: 1,
  maxDelaySeconds: 900,
  maxConsecutiveFailures: 1000,
  lockSeconds: 3600,
  resetAfterSeconds: 3600,
};
let k: Keyward;

beforeAll(async () => {
  k = await startKeyward({
    clients: [...testClients, PW_CLI],
    throttle: { ip: roomy, account: roomy, mfa: roomy },
    deviceFlow: { intervalSeconds: 1 },
  });
  await createUser(k, 'ada');
});
afterAll(async () => k?.stop());
beforeEach(() => {
  k.clock.offsetMs = 0;
});

const basic = (id: string, secret: string) =>
  `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

async function tokenRequest(form: Record<string, string>, auth?: string) {
  const res = await fetch(`${k.issuer}/token`, {
    method: 'POST',
    body: new URLSearchParams(form),
    headers: auth ? { authorization: auth } : {},
  });
  return { status: res.status, body: (await res.json()) as Record<string, string> };
}

async function userinfoStatus(accessToken: string): Promise<number> {
  return (
    await fetch(`${k.issuer}/userinfo`, { headers: { authorization: `Bearer ${accessToken}` } })
  ).status;
}

/** A code for test-web (confidential) or test-cli (public), through the real sign-in pages. */
async function codeFor(clientId: 'test-web' | 'test-cli', redirectUri: string) {
  const verifier = oidc.randomPKCECodeVerifier();
  const params = new URLSearchParams({
    client_id: clientId,
    response_type: 'code',
    scope: 'openid offline_access',
    redirect_uri: redirectUri,
    prompt: 'consent',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
  });
  const callback = await signIn(
    new Browser(),
    `${k.issuer}/authorize?${params}`,
    'ada',
    PASSWORD,
    redirectUri,
  );
  return { code: new URL(callback).searchParams.get('code')!, verifier };
}

test(`the same authorization code sent ${N} times at once: one 200, the rest invalid_grant, and the grant is revoked`, async () => {
  const { code, verifier } = await codeFor('test-web', RP_CALLBACK);
  const form = {
    grant_type: 'authorization_code',
    code,
    code_verifier: verifier,
    redirect_uri: RP_CALLBACK,
  };
  const results = await atOnce(N, () => tokenRequest(form, basic('test-web', WEB_SECRET)));
  expect(wins(results, (r) => r.status === 200)).toBe(1);
  for (const r of results.filter((x) => x.status !== 200))
    expect(r.body.error).toBe('invalid_grant');
  // The code was presented more than once: what it issued is revoked (RFC 9700 §4.14.2).
  const issued = results.find((r) => r.status === 200)!.body;
  expect(await userinfoStatus(issued.access_token)).toBe(401);
  expect(
    (
      await tokenRequest(
        { grant_type: 'refresh_token', refresh_token: issued.refresh_token },
        basic('test-web', WEB_SECRET),
      )
    ).body.error,
  ).toBe('invalid_grant');
});

test(`the same refresh token sent ${N} times at once: one rotation wins, and reuse revokes the family`, async () => {
  const { code, verifier } = await codeFor('test-cli', 'http://127.0.0.1/cb');
  const first = await tokenRequest({
    grant_type: 'authorization_code',
    client_id: 'test-cli',
    code,
    code_verifier: verifier,
    redirect_uri: 'http://127.0.0.1/cb',
  });
  expect(first.status).toBe(200);
  const results = await atOnce(N, () =>
    tokenRequest({
      grant_type: 'refresh_token',
      client_id: 'test-cli',
      refresh_token: first.body.refresh_token,
    }),
  );
  expect(wins(results, (r) => r.status === 200)).toBe(1);
  for (const r of results.filter((x) => x.status !== 200))
    expect(r.body.error).toBe('invalid_grant');
  const rotated = results.find((r) => r.status === 200)!.body;
  // Reuse was detected, so the new refresh token refreshes nothing and the access tokens stop.
  expect(
    (
      await tokenRequest({
        grant_type: 'refresh_token',
        client_id: 'test-cli',
        refresh_token: rotated.refresh_token,
      })
    ).body.error,
  ).toBe('invalid_grant');
  expect(await userinfoStatus(rotated.access_token)).toBe(401);
  expect(await userinfoStatus(first.body.access_token)).toBe(401);
});

test('a refresh token used once, alone, keeps rotating (no false reuse detection)', async () => {
  const { code, verifier } = await codeFor('test-cli', 'http://127.0.0.1/cb');
  let tokens = (
    await tokenRequest({
      grant_type: 'authorization_code',
      client_id: 'test-cli',
      code,
      code_verifier: verifier,
      redirect_uri: 'http://127.0.0.1/cb',
    })
  ).body;
  for (let i = 0; i < 3; i++) {
    const next = await tokenRequest({
      grant_type: 'refresh_token',
      client_id: 'test-cli',
      refresh_token: tokens.refresh_token,
    });
    expect(next.status).toBe(200);
    expect(next.body.refresh_token).not.toBe(tokens.refresh_token);
    tokens = next.body;
  }
  expect(await userinfoStatus(tokens.access_token)).toBe(200);
});

test(`the same approved device code polled ${N} times at once: one device gets tokens`, async () => {
  const start = await startDevice(k.issuer);
  const browser = await signedInBrowser(k.baseUrl, 'ada', PASSWORD);
  expect((await approve(browser, k.issuer, start.user_code)).html).toContain('Device signed in');
  const results = await atOnce(N, () =>
    tokenRequest({ client_id: 'pw-cli', grant_type: DEVICE_GRANT, device_code: start.device_code }),
  );
  expect(wins(results, (r) => r.status === 200)).toBe(1);
  for (const r of results.filter((x) => x.status !== 200))
    expect(r.body.error).toBe('invalid_grant');
});

test(`a pending device code polled ${N} times at once: one poll is on time, every other one slows the device down`, async () => {
  const start = await startDevice(k.issuer);
  const poll = () =>
    tokenRequest({ client_id: 'pw-cli', grant_type: DEVICE_GRANT, device_code: start.device_code });
  const results = await atOnce(N, poll);
  expect(wins(results, (r) => r.body.error === 'authorization_pending')).toBe(1);
  expect(wins(results, (r) => r.body.error === 'slow_down')).toBe(N - 1);
  // Each slow_down added 5 s (RFC 8628 §3.5): the interval is now 1 + 5·(N−1) seconds.
  k.clock.offsetMs += (1 + 5 * (N - 1)) * 1000 - 2000;
  expect((await poll()).body.error).toBe('slow_down');
  k.clock.offsetMs += (1 + 5 * N) * 1000 + 1000;
  expect((await poll()).body.error).toBe('authorization_pending');
});

test(`a WebAuthn challenge taken ${N} times at once is given out once`, async () => {
  const challenges = k.container.mfa.challenges;
  await challenges.put('webauthn-auth:race', 'the-challenge', 60);
  const taken = await atOnce(N, () => challenges.take('webauthn-auth:race'));
  expect(wins(taken, (v) => v === 'the-challenge')).toBe(1);
});

test(`a once-marker claimed ${N} times at once has one winner`, async () => {
  const results = await atOnce(N, () =>
    k.container.once.claim('test:race', new Date(Date.now() + 60_000)),
  );
  expect(wins(results, (won) => won)).toBe(1);
});

describe('second factors', () => {
  let secret: string;
  let recoveryCodes: string[];

  beforeAll(async () => {
    await createUser(k, 'grace');
    const browser = await signedInBrowser(k.baseUrl, 'grace', PASSWORD);
    secret = (await api(browser, k.baseUrl, 'POST', '/api/sso/mfa/otp')).body.secret as string;
    const done = await api(browser, k.baseUrl, 'POST', '/api/sso/mfa/otp/verify', {
      code: oathtool(secret, alignClock(k)),
    });
    recoveryCodes = done.body.recoveryCodes as string[];
  });

  /** N password-verified sign-ins of grace, each waiting at its second step. */
  async function pendingSignIns() {
    const cfg = await webClient(k);
    const pending = [];
    for (let i = 0; i < N; i++) pending.push(await passwordStep(k, cfg, 'grace', PASSWORD));
    for (const p of pending) expect(p.page?.url).toMatch(/\/mfa$/);
    return pending;
  }

  test(`one TOTP code posted from ${N} sessions at once completes one sign-in`, async () => {
    const pending = await pendingSignIns();
    k.clock.offsetMs += 60_000; // a step after the one used at setup
    const code = oathtool(secret, alignClock(k));
    const results = await atOnce(N, (i) => submitCode(pending[i], 'otp', code));
    expect(wins(results, (r) => r.callback !== undefined)).toBe(1);
    for (const r of results.filter((x) => !x.callback)) expect(r.status).toBe(401);
  });

  test(`one recovery code posted from ${N} sessions at once completes one sign-in`, async () => {
    const pending = await pendingSignIns();
    const results = await atOnce(N, (i) => submitCode(pending[i], 'recovery', recoveryCodes[0]));
    expect(wins(results, (r) => r.callback !== undefined)).toBe(1);
    for (const r of results.filter((x) => !x.callback)) expect(r.status).toBe(401);
  });
});
