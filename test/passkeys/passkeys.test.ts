/**
 * Passkeys over HTTP with a software authenticator (soft-authenticator.ts): registration through
 * the REST API, sign-in on the sign-in page with no username through an OIDC code flow (amr,
 * acr), the WebAuthn §6.1.1 counter rule (a clone refused, also when N sign-ins race), origin and
 * user-verification checks, removal, the MFA policies, throttling, and audit events.
 */
import * as oidc from 'openid-client';
import { Browser, signedInBrowser } from '../helpers/browserless.ts';
import { createUser, PASSWORD, startKeyward, type Keyward } from '../helpers/keyward.ts';
import { RP_CALLBACK, testClients } from '../helpers/clients.ts';
import { api, passwordStep, webClient } from '../helpers/mfa.ts';
import { approve, pollOnce, startDevice } from '../helpers/device.ts';
import { atOnce, wins } from '../helpers/at-once.ts';
import { ACR_MFA } from '../../src/platform/auth/second-factor.ts';
import {
  followRedirect,
  openSignIn,
  passkeyBrowser,
  passkeySignIn,
  postJson,
  signInOptions,
  softAuthenticator,
  sudoWithPasskey,
  userWithPasskey,
} from './passkey-helpers.ts';

let k: Keyward;
let cfg: oidc.Configuration;
const atRp = (u: string) => u.startsWith(RP_CALLBACK);
const FIPS_AAGUID = '73bb0cd4-e502-49b8-9c6f-b59445bf720b';
/** The platform CLI's device-flow client, as in config/default.json. */
const CLI_CLIENT = {
  client_id: 'pw-cli',
  client_name: 'Platform CLI',
  token_endpoint_auth_method: 'none',
  application_type: 'native',
  redirect_uris: ['http://127.0.0.1/callback'],
  grant_types: [
    'authorization_code',
    'refresh_token',
    'urn:ietf:params:oauth:grant-type:device_code',
  ],
  scope: 'openid profile email offline_access',
  firstParty: true,
};

beforeAll(async () => {
  // Every test signs in from 127.0.0.1: the per-IP allowance is raised; per-passkey throttling is tested below.
  k = await startKeyward({
    clients: [...testClients, CLI_CLIENT],
    mfa: { fipsAaguids: [FIPS_AAGUID] },
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
  cfg = await webClient(k);
});
afterAll(async () => k?.stop());

/** An authorization request of test-web (PKCE); `finish` redeems the callback for tokens. */
async function codeFlow(extra: Record<string, string> = {}) {
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const url = oidc
    .buildAuthorizationUrl(cfg, {
      redirect_uri: RP_CALLBACK,
      scope: 'openid profile',
      state,
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      ...extra,
    })
    .toString();
  return {
    url,
    finish: (callback: string) =>
      oidc.authorizationCodeGrant(cfg, new URL(callback), {
        pkceCodeVerifier: verifier,
        expectedState: state,
      }),
  };
}

/** The sign-in page's error message. */
const errorOf = (html: string) => /id="login-error">([^<]*)</.exec(html)?.[1];

const events = (accountId: string, type: string) =>
  k.db.collection('audit_events').find({ accountId, type }).toArray();

test('register a passkey, then sign in with it and no username: the code flow gets amr hwk + user + mfa', async () => {
  const pia = await createUser(k, 'pia');
  const { browser, auth, options, done } = await userWithPasskey(k, 'pia', {
    name: 'Pia laptop',
    aaguid: 'bada5566-a7aa-401f-bd96-45619a55120d',
  });
  // Discoverable, user verification required.
  expect(options.authenticatorSelection).toMatchObject({
    residentKey: 'required',
    requireResidentKey: true,
    userVerification: 'required',
  });
  expect(done.status).toBe(200);
  expect(done.body.recoveryCodes).toHaveLength(10); // the first factor of the account, like a first security key
  const list = await api(browser, k.baseUrl, 'GET', '/api/sso/passkeys');
  expect(list.body).toMatchObject({
    passwordless: false,
    passwordRequired: false,
    passkeys: [{ name: 'Pia laptop', authenticator: '1Password', synced: false }],
  });
  expect(list.body.passkeys[0].lastUsedAt).toBeUndefined();
  // It is a security key too (2-Step Verification lists it).
  expect(
    (await api(browser, k.baseUrl, 'GET', '/api/sso/mfa')).body.mfaSettings.map(
      (f: { type: string; name: string }) => [f.type, f.name],
    ),
  ).toEqual([['webauthn', 'Pia laptop']]);

  const flow = await codeFlow();
  const page = await openSignIn(flow.url, atRp);
  const signedIn = await passkeySignIn(page, auth);
  expect(signedIn.status).toBe(200);
  const callback = await followRedirect(page, signedIn.body.redirect!, atRp);
  expect(callback).toMatch(/^https:\/\/rp\.example\.test\/cb\?code=/); // no second prompt: the passkey is both factors
  const claims = (await flow.finish(callback)).claims()!;
  expect(claims.sub).toBe(pia.id);
  expect(claims.amr).toEqual(['hwk', 'user', 'mfa']);
  expect(claims.acr).toBe(ACR_MFA);

  const after = await api(browser, k.baseUrl, 'GET', '/api/sso/passkeys');
  expect(after.body.passkeys[0].lastUsedAt).toBeDefined();
  expect(await events(pia.id, 'passkey.registered')).toHaveLength(1);
  expect((await events(pia.id, 'passkey.used')).map((e) => e.outcome)).toEqual(['success']);
});

test('the challenge is single use and the origin, RP ID and user verification are checked', async () => {
  await createUser(k, 'quin');
  const { auth, browser } = await userWithPasskey(k, 'quin');
  const page = await openSignIn((await codeFlow()).url, atRp);

  const options = await signInOptions(page);
  expect(options).toMatchObject({ userVerification: 'required' });
  expect(options.allowCredentials ?? []).toEqual([]); // the authenticator offers its own passkeys: no username needed
  const assertion = auth.get(options.challenge!);
  const first = await postJson(page, `/interaction/${page.uid}/passkey`, { response: assertion });
  expect(first.status).toBe(200);

  // Another sign-in page: the assertion of the first is not accepted again (its challenge is gone).
  const page2 = await openSignIn((await codeFlow({ prompt: 'login' })).url, atRp, new Browser());
  await signInOptions(page2);
  const replay = await postJson(page2, `/interaction/${page2.uid}/passkey`, {
    response: assertion,
  });
  expect(replay.status).toBe(401);

  const wrongOrigin = await passkeySignIn(page2, auth, { origin: 'https://evil.example' });
  expect(wrongOrigin.status).toBe(401);
  expect(wrongOrigin.body.message).toMatch(/origin/i);
  const wrongRp = await passkeySignIn(page2, auth, { rpId: 'evil.example' });
  expect(wrongRp.status).toBe(401);
  expect(wrongRp.body.message).toMatch(/RP ID/i);
  // The right passkey without user verification (presence only) is not a sign-in.
  auth.o.userVerified = false;
  const unverified = await passkeySignIn(page2, auth);
  auth.o.userVerified = true;
  expect(unverified.status).toBe(401);
  expect(unverified.body.message).toMatch(/user verification/i);
  // A registration without user verification is refused (a passkey must verify the user).
  await sudoWithPasskey(k, browser, auth);
  const regOptions = await api(browser, k.baseUrl, 'POST', '/api/sso/passkeys/options');
  const done = await api(browser, k.baseUrl, 'POST', '/api/sso/passkeys', {
    name: 'No UV',
    response: softAuthenticator(k, { userVerified: false }).create(regOptions.body),
  });
  expect(done.status).toBe(400);
  expect(done.body.message).toMatch(/user verification/i);
  // A security key registered as a second factor only does not sign in on its own.
  expect((await passkeySignIn(page2, softAuthenticator(k))).body.message).toMatch(/not registered/);
});

test('a cloned passkey (its counter going backwards or repeating) is refused', async () => {
  const rae = await createUser(k, 'rae');
  const { auth } = await userWithPasskey(k, 'rae');
  const page = await openSignIn((await codeFlow()).url, atRp);
  expect((await passkeySignIn(page, auth, { counter: 5 })).status).toBe(200);

  for (const counter of [5, 3]) {
    const again = await openSignIn((await codeFlow({ prompt: 'login' })).url, atRp, new Browser());
    const clone = await passkeySignIn(again, auth, { counter });
    expect(clone.status).toBe(401);
    expect(clone.body.message).toMatch(
      /counter it has used before \(possibly a cloned authenticator\)/,
    );
  }
  const next = await openSignIn((await codeFlow({ prompt: 'login' })).url, atRp, new Browser());
  expect((await passkeySignIn(next, auth, { counter: 6 })).status).toBe(200);
  expect((await events(rae.id, 'passkey.used')).map((e) => e.outcome)).toEqual([
    'success',
    'failure',
    'failure',
    'success',
  ]);
});

test('N sign-ins at once with the same counter value (a clone racing the original): exactly one wins', async () => {
  await createUser(k, 'sol');
  const { auth } = await userWithPasskey(k, 'sol');
  const N = 8;
  const pages = await Promise.all(
    Array.from({ length: N }, async () => openSignIn((await codeFlow()).url, atRp, new Browser())),
  );
  const assertions = await Promise.all(
    pages.map(async (p) => auth.get((await signInOptions(p)).challenge!, { counter: 7 })),
  );
  const results = await atOnce(N, (i) =>
    postJson(pages[i], `/interaction/${pages[i].uid}/passkey`, { response: assertions[i] }),
  );
  // The losers are refused as clones (401), or throttled (429) once the failures reach the per-passkey allowance.
  expect(wins(results, (r) => r.status === 200)).toBe(1);
  expect(
    results.filter((r) => r.status !== 200).every((r) => r.status === 401 || r.status === 429),
  ).toBe(true);
  const stored = await k.db.collection('mfa_factors').findOne({ 'webauthn.credentialId': auth.id });
  expect(stored?.webauthn.counter).toBe(7);
});

test('one passkey answer sent 8 times at once to its sign-in: the challenge is taken once', async () => {
  await createUser(k, 'una');
  const { auth } = await userWithPasskey(k, 'una');
  const page = await openSignIn((await codeFlow()).url, atRp);
  const assertion = auth.get((await signInOptions(page)).challenge!);
  const results = await atOnce(8, () =>
    postJson(page, `/interaction/${page.uid}/passkey`, { response: assertion }),
  );
  expect(wins(results, (r) => r.status === 200)).toBe(1);
  expect(
    results.filter((r) => r.status !== 200).every((r) => r.status === 401 || r.status === 429),
  ).toBe(true);
});

test('a removed passkey no longer signs in; removal is audited', async () => {
  const tao = await createUser(k, 'tao');
  const { browser, auth, done } = await userWithPasskey(k, 'tao');
  await sudoWithPasskey(k, browser, auth); // with a passkey, this password-only session must confirm it's you
  expect(
    (await api(browser, k.baseUrl, 'DELETE', `/api/sso/passkeys/${done.body.id}`)).status,
  ).toBe(204);
  expect((await api(browser, k.baseUrl, 'GET', '/api/sso/passkeys')).body.passkeys).toEqual([]);
  const page = await openSignIn((await codeFlow()).url, atRp);
  const refused = await passkeySignIn(page, auth);
  expect(refused.status).toBe(401);
  expect(refused.body.message).toMatch(/not registered with Keyward/);
  expect(await events(tao.id, 'passkey.removed')).toHaveLength(1);
});

test('failed passkey attempts are throttled per passkey like password attempts', async () => {
  await createUser(k, 'uma');
  const { auth } = await userWithPasskey(k, 'uma');
  const page = await openSignIn((await codeFlow()).url, atRp);
  expect((await passkeySignIn(page, auth, { counter: 50 })).status).toBe(200);
  const statuses: number[] = [];
  const retry = await openSignIn((await codeFlow({ prompt: 'login' })).url, atRp, new Browser());
  for (let i = 0; i < 12; i++)
    statuses.push((await passkeySignIn(retry, auth, { counter: 1 })).status);
  expect(statuses).toContain(429);
  expect(statuses.slice(0, statuses.indexOf(429)).every((s) => s === 401)).toBe(true);
});

test('Enforce MFA and Enforce Security Key MFA (hardware) are satisfied by a passkey sign-in; FIPS needs a listed key', async () => {
  const vic = await createUser(k, 'vic', { org: 'passkey-org' });
  const { auth } = await userWithPasskey(k, 'vic');
  const { organization } = (await k.container.organizations.primaryOf(vic.id))!;
  for (const [name, value] of [
    ['enforce-mfa', true],
    ['enforce-webauthn-mfa', 'hardware'],
  ] as const) {
    await k.container.policies.set(`org:${organization.id}`, name, value);
    const flow = await codeFlow();
    const page = await openSignIn(flow.url, atRp);
    const signedIn = await passkeySignIn(page, auth);
    expect(signedIn.status).toBe(200);
    const callback = await followRedirect(page, signedIn.body.redirect!, atRp);
    expect(atRp(callback)).toBe(true); // no mfa step, no enrolment
    expect((await flow.finish(callback)).claims()!.amr).toEqual(['hwk', 'user', 'mfa']);
  }
  await k.container.policies.set(`org:${organization.id}`, 'enforce-webauthn-mfa', 'fips');
  const page = await openSignIn((await codeFlow()).url, atRp);
  const fips = await passkeySignIn(page, auth);
  expect(fips.status).toBe(403);
  expect(fips.body.message).toMatch(/FIPS-certified/);
  // A passkey on an authenticator of the configured FIPS list satisfies it (added in a session signed in with the first one).
  await k.container.policies.set(`org:${organization.id}`, 'enforce-webauthn-mfa', 'hardware');
  const browser = await passkeyBrowser(k, auth);
  await k.container.policies.set(`org:${organization.id}`, 'enforce-webauthn-mfa', 'fips');
  const fipsKey = softAuthenticator(k, { aaguid: FIPS_AAGUID });
  const options = await api(browser, k.baseUrl, 'POST', '/api/sso/passkeys/options');
  expect(
    (
      await api(browser, k.baseUrl, 'POST', '/api/sso/passkeys', {
        name: 'FIPS key',
        response: fipsKey.create(options.body),
      })
    ).status,
  ).toBe(200);
  const flow = await codeFlow();
  const fipsPage = await openSignIn(flow.url, atRp);
  const ok = await passkeySignIn(fipsPage, fipsKey);
  expect(ok.status).toBe(200);
  expect(atRp(await followRedirect(fipsPage, ok.body.redirect!, atRp))).toBe(true);
  await k.container.policies.clear(`org:${organization.id}`, 'enforce-webauthn-mfa');
  await k.container.policies.clear(`org:${organization.id}`, 'enforce-mfa');
});

test('passwordless: remove the password (sudo, a passkey, no require-password); a password sign-in then fails like a wrong one; set one again', async () => {
  const wes = await createUser(k, 'wes', { org: 'passwordless-org' });
  await createUser(k, 'xan');
  const { organization } = (await k.container.organizations.primaryOf(wes.id))!;
  const plain = await signedInBrowser(k.baseUrl, 'wes', PASSWORD);
  const none = await api(plain, k.baseUrl, 'DELETE', '/api/account/password');
  expect(none.status).toBe(400);
  expect(none.body.message).toMatch(/Add a passkey first/);

  const { browser, auth, done } = await userWithPasskey(k, 'wes');
  // A password-only session of an account with a passkey must confirm it's you first.
  const noSudo = await api(browser, k.baseUrl, 'DELETE', '/api/account/password');
  expect(noSudo.status).toBe(403);
  expect(noSudo.body.code).toBe('sudo_required');
  await sudoWithPasskey(k, browser, auth);
  await k.container.policies.set(`org:${organization.id}`, 'require-password', true);
  const required = await api(browser, k.baseUrl, 'DELETE', '/api/account/password');
  expect(required.status).toBe(403);
  expect(required.body.message).toMatch(/requires a password/);
  expect((await api(browser, k.baseUrl, 'GET', '/api/sso/passkeys')).body).toMatchObject({
    passwordless: false,
    passwordRequired: true,
  });
  await k.container.policies.clear(`org:${organization.id}`, 'require-password');
  expect((await api(browser, k.baseUrl, 'DELETE', '/api/account/password')).status).toBe(204);
  expect((await api(browser, k.baseUrl, 'GET', '/api/sso/passkeys')).body).toMatchObject({
    passwordless: true,
    passwordRequired: false,
  });

  // The old password now fails exactly like a wrong password of another account (no enumeration).
  const old = await passwordStep(k, cfg, 'wes', PASSWORD);
  const wrong = await passwordStep(k, cfg, 'xan', 'not the password of xan');
  expect(old.callback).toBeUndefined();
  expect([old.page!.status, errorOf(old.page!.html)]).toEqual([
    wrong.page!.status,
    errorOf(wrong.page!.html),
  ]);
  expect(errorOf(old.page!.html)).toBe('Invalid username or password.');

  // A passkey still signs in.
  const flow = await codeFlow();
  const page = await openSignIn(flow.url, atRp);
  const signedIn = await passkeySignIn(page, auth);
  expect(signedIn.status).toBe(200);
  expect(
    (await flow.finish(await followRedirect(page, signedIn.body.redirect!, atRp))).claims()!.sub,
  ).toBe(wes.id);

  // Its last passkey cannot go, neither alone nor with 2-step verification turned off.
  const last = await api(browser, k.baseUrl, 'DELETE', `/api/sso/passkeys/${done.body.id}`);
  expect(last.status).toBe(403);
  expect(last.body.message).toMatch(/no password: keep at least one passkey/);
  expect(
    (await api(browser, k.baseUrl, 'DELETE', '/api/sso/mfa', { removeAll: true })).status,
  ).toBe(403);

  // A password again: weak ones are refused by the password policy; then it signs in (and asks for the second step).
  expect(
    (await api(browser, k.baseUrl, 'PUT', '/api/account/password', { password: 'short' })).status,
  ).toBe(400);
  const NEW = 'correct horse battery staple 2026';
  expect(
    (await api(browser, k.baseUrl, 'PUT', '/api/account/password', { password: NEW })).status,
  ).toBe(204);
  expect((await api(browser, k.baseUrl, 'GET', '/api/sso/passkeys')).body.passwordless).toBe(false);
  const back = await passwordStep(k, cfg, 'wes', NEW);
  expect(back.page?.url).toMatch(/\/interaction\/[^/]+\/mfa$/);
  expect(await events(wes.id, 'password.removed')).toHaveLength(1);
  expect(await events(wes.id, 'password.added')).toHaveLength(1);
});

test("the CLI's device flow: a browser signed in with a passkey approves on the confirmation page", async () => {
  await createUser(k, 'yan');
  const { auth } = await userWithPasskey(k, 'yan');
  const device = await startDevice(k.issuer);
  const atCallback = (u: string) => u.startsWith(`${k.baseUrl}/signin/callback`);
  // Not signed in: the device page sends the browser to sign in, and back after.
  const page = await openSignIn(`${k.issuer}/device`, atCallback);
  const signedIn = await passkeySignIn(page, auth);
  expect(signedIn.status).toBe(200);
  const callback = await followRedirect(page, signedIn.body.redirect!, atCallback);
  const back = await page.browser.follow(callback);
  expect(back.url).toBe(`${k.issuer}/device`);
  expect(back.res.status).toBe(200);
  const approved = await approve(page.browser, k.issuer, device.user_code);
  expect(approved.status).toBe(200);
  const token = await pollOnce(k.issuer, device.device_code);
  expect(token.status).toBe(200);
  expect(token.body.access_token).toBeTruthy();
});

test('a passkey as the second factor after a password: N second steps at once with one counter value, exactly one wins', async () => {
  await createUser(k, 'ada');
  const { auth } = await userWithPasskey(k, 'ada');
  const N = 8;
  const steps = [];
  for (let i = 0; i < N; i++) steps.push(await passwordStep(k, cfg, 'ada', PASSWORD)); // one by one: concurrent passwords are throttled
  const pages = steps.map((s) => {
    expect(s.page?.url).toMatch(/\/interaction\/[^/]+\/mfa$/);
    return {
      browser: s.browser,
      url: s.page!.url,
      uid: new URL(s.page!.url).pathname.split('/')[2],
      csrf: /data-csrf="([^"]+)"/.exec(s.page!.html)![1],
    };
  });
  const assertions = await Promise.all(
    pages.map(async (p) =>
      auth.get((await postJson(p, `/interaction/${p.uid}/mfa/webauthn/options`)).body.challenge!, {
        counter: 9,
      }),
    ),
  );
  const results = await atOnce(N, (i) =>
    postJson(pages[i], `/interaction/${pages[i].uid}/mfa/webauthn`, { response: assertions[i] }),
  );
  expect(wins(results, (r) => r.status === 200)).toBe(1);
  expect(
    results.filter((r) => r.status !== 200).every((r) => r.status === 401 || r.status === 429),
  ).toBe(true);
});

test('passkey autofill (conditional UI) has its own challenge: a button request meanwhile does not replace it', async () => {
  await createUser(k, 'bea');
  const { auth } = await userWithPasskey(k, 'bea');
  const page = await openSignIn((await codeFlow()).url, atRp);
  const autofill = await postJson(page, `/interaction/${page.uid}/passkey/options`, {
    conditional: true,
  });
  const button = await signInOptions(page);
  expect(button.challenge).not.toBe(autofill.body.challenge);
  // The autofill's assertion is not accepted as the button's, nor the other way round, but on its own path it signs in.
  const wrongPath = await postJson(page, `/interaction/${page.uid}/passkey`, {
    response: auth.get(autofill.body.challenge!),
  });
  expect(wrongPath.status).toBe(401);
  const autofillAgain = await postJson(page, `/interaction/${page.uid}/passkey/options`, {
    conditional: true,
  });
  const done = await postJson(page, `/interaction/${page.uid}/passkey`, {
    conditional: true,
    response: auth.get(autofillAgain.body.challenge!),
  });
  expect(done.status).toBe(200);
  expect(done.body.redirect).toBeTruthy();
});
