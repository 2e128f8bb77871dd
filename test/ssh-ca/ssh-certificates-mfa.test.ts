/**
 * Who may get an SSH certificate: the sign-in behind the presented credential must meet the
 * organization's 2-step verification requirement — for a browser session its own amr, for a CLI
 * token the session it was created in, for a device-flow access token the session that approved
 * it. Disabled users and expired credentials are refused; every refusal is audited.
 */
import { signedInBrowser, type Browser } from '../helpers/browserless.ts';
import { createUser, PASSWORD, startKeyward, type Keyward } from '../helpers/keyward.ts';
import { testClients } from '../helpers/clients.ts';
import { KeyDir, json } from '../helpers/ssh.ts';
import { bearer } from '../helpers/api-keys.ts';
import { alignClock, api, oathtool, passwordStep, submitCode, webClient } from '../helpers/mfa.ts';
import { approve, DEVICE_GRANT, startDevice } from '../helpers/device.ts';
import type { Principal } from '../../src/platform/auth/principal.ts';

const PW_CLI = {
  client_id: 'pw-cli',
  client_name: 'Platform CLI',
  token_endpoint_auth_method: 'none',
  application_type: 'native',
  redirect_uris: ['http://127.0.0.1/callback'],
  grant_types: ['authorization_code', 'refresh_token', DEVICE_GRANT],
  scope: 'openid profile email offline_access',
  firstParty: true,
};
const kd = new KeyDir();
let k: Keyward;
let platform: Browser;
let publicKey: string;

beforeAll(async () => {
  k = await startKeyward({ clients: [...testClients, PW_CLI], deviceFlow: { intervalSeconds: 1 } });
  const plat = await createUser(k, 'plat');
  await k.db
    .collection('accounts')
    .updateOne({ _id: plat.id as never }, { $set: { platformAdmin: true } });
  platform = await signedInBrowser(k.baseUrl, 'plat', PASSWORD);
  publicKey = (await kd.generate('ed25519')).publicKey;
}, 60_000);
afterAll(async () => {
  await k?.stop();
  kd.remove();
});

const issue = (who: Browser | undefined, headers: Record<string, string> = {}) =>
  json(who, `${k.baseUrl}/api/ssh/certificates`, { method: 'POST', body: { publicKey }, headers });
const cliToken = async (who: Browser) =>
  JSON.parse(
    await (
      await who.fetch(`${k.baseUrl}/api/auth/token?ttl=2`, {
        headers: { accept: 'application/json' },
      })
    ).text(),
  ) as string;

/** The device flow as the CLI runs it, approved by `who`; answers the access token and its lifetime. */
async function deviceToken(who: Browser): Promise<{ token: string; expiresIn: number }> {
  const start = await startDevice(k.issuer);
  await approve(who, k.issuer, start.user_code);
  for (let i = 0; i < 10; i++) {
    const res = await fetch(`${k.issuer}/token`, {
      method: 'POST',
      body: new URLSearchParams({
        client_id: 'pw-cli',
        grant_type: DEVICE_GRANT,
        device_code: start.device_code,
      }),
    });
    const body = (await res.json()) as {
      access_token?: string;
      expires_in?: number;
      error?: string;
    };
    if (body.access_token) return { token: body.access_token, expiresIn: body.expires_in! };
    if (body.error !== 'authorization_pending' && body.error !== 'slow_down')
      throw new Error(JSON.stringify(body));
    await new Promise((r) => setTimeout(r, 1100));
  }
  throw new Error('device flow did not finish');
}

test('a device-flow access token gets a certificate capped at the token lifetime', async () => {
  await createUser(k, 'cody', { org: 'open' });
  const cody = await signedInBrowser(k.baseUrl, 'cody', PASSWORD);
  const { token, expiresIn } = await deviceToken(cody);
  const res = await issue(undefined, bearer(token));
  expect(res.status).toBe(200);
  const validBefore = Date.parse(String(res.body.validBefore)) / 1000;
  expect(Math.abs(validBefore - (Date.now() / 1000 + expiresIn))).toBeLessThanOrEqual(3);
  const [event] = (
    await k.container.audit.forAccount((await k.container.accounts.findByLogin('cody'))!.id, 20)
  ).filter((e) => e.type === 'ssh_certificate.issued');
  expect(event.details).toMatchObject({
    via: 'oauth',
    principals: 'cody',
    serial: res.body.serial,
  });
}, 30_000);

test('with enforce-mfa, credentials from a sign-in without a second factor are refused; a sign-in with one is not', async () => {
  await createUser(k, 'mia', { org: 'secure' });
  const passwordOnly = await signedInBrowser(k.baseUrl, 'mia', PASSWORD);
  const oldToken = await cliToken(passwordOnly);
  const oldAccess = (await deviceToken(passwordOnly)).token;
  // Before the policy every one of them works.
  for (const [who, headers] of [
    [passwordOnly, {}],
    [undefined, bearer(oldToken)],
    [undefined, bearer(oldAccess)],
  ] as const) {
    expect((await issue(who, headers)).status).toBe(200);
  }

  const setup = await api(passwordOnly, k.baseUrl, 'POST', '/api/sso/mfa/otp');
  const enrolled = await api(passwordOnly, k.baseUrl, 'POST', '/api/sso/mfa/otp/verify', {
    code: oathtool(setup.body.secret, alignClock(k)),
  });
  expect(enrolled.body.message).toBe('MFA setup successful');
  expect(
    (
      await json(platform, `${k.baseUrl}/api/organizations/secure/policies/enforce-mfa`, {
        method: 'POST',
        body: true,
      })
    ).status,
  ).toBe(200);

  const byToken = await issue(undefined, bearer(oldToken));
  expect(byToken.status).toBe(403);
  expect(byToken.body.message).toMatch(
    /requires 2-step verification for SSH certificates\. This CLI token was created in a sign-in without 2-step verification/,
  );
  const byAccess = await issue(undefined, bearer(oldAccess));
  expect(byAccess.status).toBe(403);
  expect(byAccess.body.message).toMatch(
    /sign-in behind this access token did not use 2-step verification .*keyward auth login/,
  );
  expect((await issue(passwordOnly)).status).toBe(401); // the session no longer counts at all
  const miaId = (await k.container.accounts.findByLogin('mia'))!.id;
  const refusals = (await k.container.audit.forAccount(miaId, 50)).filter(
    (e) => e.type === 'ssh_certificate.refused',
  );
  expect(refusals.map((e) => [e.details.reason, e.details.via])).toEqual([
    ['mfa_required', 'oauth'],
    ['mfa_required', 'token'],
  ]);

  // A new sign-in with the second factor: the session, a CLI token made in it, and a device approved by it all work.
  k.clock.offsetMs += 30_000;
  const pending = await passwordStep(k, await webClient(k), 'mia', PASSWORD);
  const done = await submitCode(pending, 'otp', oathtool(setup.body.secret, alignClock(k)));
  expect(done.callback).toBeDefined();
  const withMfa = pending.browser;
  expect((await issue(withMfa)).status).toBe(200);
  expect((await issue(undefined, bearer(await cliToken(withMfa)))).status).toBe(200);
  expect((await issue(undefined, bearer((await deviceToken(withMfa)).token))).status).toBe(200);
  const issued = (await k.container.audit.forAccount(miaId, 50))
    .filter((e) => e.type === 'ssh_certificate.issued')
    .map((e) => e.details.via);
  expect(issued.slice(0, 3).sort()).toEqual(['oauth', 'session', 'token']);
}, 60_000);

test('a disabled user gets nothing, whatever the credential; the service refuses a disabled account and an expired credential itself', async () => {
  await createUser(k, 'dan', { org: 'open' });
  const dan = await signedInBrowser(k.baseUrl, 'dan', PASSWORD);
  const token = await cliToken(dan);
  expect((await issue(dan)).status).toBe(200);
  await k.container.accounts.setDisabled('dan', true);
  const bySession = await issue(dan);
  expect(bySession.status).toBe(401);
  const byToken = await issue(undefined, bearer(token));
  expect(byToken.status).toBe(401);
  expect(byToken.body.message).toMatch(/disabled account/);

  // Defence in depth: the service does not rely on the authenticators for either rule.
  const account = (await k.container.accounts.findByLogin('dan'))!;
  const svc = k.container.sshCa.certificates;
  const ctx = { request: { ip: '127.0.0.1' }, requestId: 'req-direct-0001' };
  const principal: Principal = { account, via: 'session', amr: ['pwd'] };
  await expect(svc.issue(principal, { publicKey }, ctx)).rejects.toMatchObject({
    status: 403,
    message: expect.stringMatching(/account is disabled/),
  });
  await k.container.accounts.setDisabled('dan', false);
  const expired: Principal = {
    account: { ...account, disabled: false },
    via: 'token',
    amr: [],
    credentialId: 'x',
    expiresAt: new Date(Date.now() - 1000),
  };
  await expect(svc.issue(expired, { publicKey }, ctx)).rejects.toMatchObject({
    status: 401,
    message: expect.stringMatching(/credential you presented expired at/),
  });
  const reasons = (await k.container.audit.forAccount(account.id, 20))
    .filter((e) => e.type === 'ssh_certificate.refused')
    .map((e) => e.details.reason);
  expect(reasons).toEqual(['credential_expired', 'account_disabled']);
});

test('reserved principals (root by default) are never certified', async () => {
  await createUser(k, 'root');
  const root = await signedInBrowser(k.baseUrl, 'root', PASSWORD);
  const res = await issue(root);
  expect(res.status).toBe(403);
  expect(res.body.message).toMatch(/reserved principal "root"/);
});
