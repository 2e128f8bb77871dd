/**
 * OAuth access tokens on Keyward's own API are remembered once verified (no database read on
 * later requests), yet every way of ending them applies on the next request: RFC 7009
 * revocation, signing a device out (revocation by grant), disconnecting the app, disabling the
 * user; and within a poll interval when another instance did it.
 */
import * as oidc from 'openid-client';
import { signedInBrowser, type Browser } from '../helpers/browserless.ts';
import { createUser, PASSWORD, startKeyward, type Keyward } from '../helpers/keyward.ts';
import { approve, startDevice } from '../helpers/device.ts';
import { bearer, call } from '../helpers/api-keys.ts';

const insecure = { execute: [oidc.allowInsecureRequests] };
let k: Keyward;
let alice: Browser;
let cli: oidc.Configuration;

beforeAll(async () => {
  k = await startKeyward({ deviceFlow: { intervalSeconds: 1 } });
  await createUser(k, 'alice', { org: 'acme' });
  alice = await signedInBrowser(k.baseUrl, 'alice', PASSWORD);
  cli = await oidc.discovery(new URL(k.issuer), 'pw-cli', undefined, oidc.None(), insecure);
});
afterAll(async () => k?.stop());

/** A CLI sign-in through the device flow (its own grant), approved in Alice's browser session. */
async function signInDevice(name: string) {
  const start = await startDevice(k.issuer, { device_name: name });
  await approve(alice, k.issuer, start.user_code);
  return oidc.pollDeviceAuthorizationGrant(cli, { ...start, interval: 0 } as never);
}

const whoami = async (token: string, on: Keyward = k) =>
  (await call(on.baseUrl, '/api/auth/whoami', bearer(token))).status;

/** Database operations by `on` while `action` runs, except the revocation signal's poll. */
async function operations(action: () => Promise<unknown>, on: Keyward = k): Promise<string[]> {
  const seen: string[] = [];
  on.container.connection.set('debug', (collection: string, method: string) => {
    seen.push(`${collection}.${method}`);
  });
  try {
    await action();
  } finally {
    on.container.connection.set('debug', false);
  }
  return seen.filter((op) => !op.startsWith('change_signals.'));
}

/** Accepted, and the second time from memory. */
async function expectRemembered(token: string, on: Keyward = k): Promise<void> {
  expect(await whoami(token, on)).toBe(200);
  let status = 0;
  expect(
    await operations(async () => {
      status = await whoami(token, on);
    }, on),
  ).toEqual([]);
  expect(status).toBe(200);
}

test('a verified access token costs no read on later requests; RFC 7009 revocation ends it on the next one', async () => {
  const tokens = await signInDevice('revoked');
  expect(await operations(() => whoami(tokens.access_token))).toEqual(
    expect.arrayContaining(['oidc_access_token.findOne', 'oidc_grant.findOne']),
  );
  await expectRemembered(tokens.access_token);
  await oidc.tokenRevocation(cli, tokens.access_token);
  expect(await whoami(tokens.access_token)).toBe(401);
});

test('signing a device out and disconnecting the app end remembered tokens on the next request', async () => {
  const one = await signInDevice('one');
  const two = await signInDevice('two');
  for (const t of [one, two]) await expectRemembered(t.access_token);
  const listed = await alice.fetch(`${k.baseUrl}/api/oidc/connected-apps`, {
    headers: { accept: 'application/json' },
  });
  const devices = (
    (await listed.json()) as {
      apps: { clientId: string; devices?: { id: string; name: string }[] }[];
    }
  ).apps.find((a) => a.clientId === 'pw-cli')!.devices!;
  const target = devices.find((d) => d.name === 'one')!;
  expect(
    (
      await alice.fetch(`${k.baseUrl}/api/oidc/connected-apps/pw-cli/devices/${target.id}`, {
        method: 'DELETE',
        headers: { accept: 'application/json' },
      })
    ).status,
  ).toBe(204);
  expect(await whoami(one.access_token)).toBe(401);
  expect(await whoami(two.access_token)).toBe(200);
  expect(
    (
      await alice.fetch(`${k.baseUrl}/api/oidc/connected-apps/pw-cli`, {
        method: 'DELETE',
        headers: { accept: 'application/json' },
      })
    ).status,
  ).toBe(204);
  expect(await whoami(two.access_token)).toBe(401);
}, 30_000);

test('a token revoked through another instance is refused here within a poll interval', async () => {
  const replica = await startKeyward({ deviceFlow: { intervalSeconds: 1 } }, { sharing: k });
  try {
    const tokens = await signInDevice('replicated');
    await expectRemembered(tokens.access_token);
    const revoked = await fetch(`${replica.issuer}/revoke`, {
      method: 'POST',
      body: new URLSearchParams({ token: tokens.access_token, client_id: 'pw-cli' }),
    });
    expect(revoked.status).toBe(200);
    const started = performance.now();
    while ((await whoami(tokens.access_token)) === 200) {
      expect(performance.now() - started).toBeLessThan(3000); // poll interval 250 ms; the cache alone would keep it 60 s
      await new Promise((r) => setTimeout(r, 20));
    }
  } finally {
    await replica.stop();
  }
}, 30_000);

test('disabling the user ends remembered access tokens on the next request', async () => {
  await createUser(k, 'bob');
  const bob = await signedInBrowser(k.baseUrl, 'bob', PASSWORD);
  const start = await startDevice(k.issuer, { device_name: 'bob' });
  await approve(bob, k.issuer, start.user_code);
  const tokens = await oidc.pollDeviceAuthorizationGrant(cli, { ...start, interval: 0 } as never);
  await expectRemembered(tokens.access_token);
  await k.container.accounts.setDisabled('bob', true);
  expect(await whoami(tokens.access_token)).toBe(401);
});
