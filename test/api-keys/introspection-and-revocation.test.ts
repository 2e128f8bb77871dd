/**
 * RFC 7662 introspection of API keys and CLI tokens for resource-server clients (active, then
 * inactive the moment they are deleted or expire; nothing for other clients; OAuth tokens still
 * answered by the provider behind the same endpoint), and the unauthenticated, rate-limited
 * revocation endpoint for leaked credentials.
 */
import * as oidc from 'openid-client';
import { Browser, signedInBrowser, signIn } from '../helpers/browserless.ts';
import { createUser, PASSWORD, startKeyward, type Keyward } from '../helpers/keyward.ts';
import { RP_CALLBACK, RS_SECRET, WEB_SECRET, testClients } from '../helpers/clients.ts';
import { basic, call, createKey } from '../helpers/api-keys.ts';

let k: Keyward;
let alice: Browser;
let accountId: string;
const FREE = 4;

beforeAll(async () => {
  k = await startKeyward({
    clients: testClients,
    credentials: { revokeFreeRequests: FREE, revokeWindowSeconds: 600 },
  });
  accountId = (await createUser(k, 'alice', { org: 'acme' })).id;
  alice = await signedInBrowser(k.baseUrl, 'alice', PASSWORD);
});
afterAll(async () => k?.stop());

const rsBasic = {
  authorization: `Basic ${Buffer.from(`test-rs:${RS_SECRET}`).toString('base64')}`,
};

async function introspect(
  token: string,
  headers: Record<string, string> = rsBasic,
  extra: Record<string, string> = {},
) {
  const res = await fetch(`${k.issuer}/introspect`, {
    method: 'POST',
    body: new URLSearchParams({ token, ...extra }),
    headers,
  });
  return {
    status: res.status,
    cache: res.headers.get('cache-control'),
    body: (await res.json()) as Record<string, unknown>,
  };
}

test('a resource server sees an API key and a CLI token as active, then inactive once deleted or expired', async () => {
  const created = await createKey(alice, k.baseUrl, { title: 'rs-key', duration: '7' });
  const active = await introspect(created.key);
  expect(active.status).toBe(200);
  expect(active.cache).toBe('no-store');
  expect(active.body).toEqual({
    active: true,
    sub: accountId,
    username: 'alice',
    client_id: 'keyward-apikey',
    scope: 'openid profile email',
    iat: Math.floor(Date.parse(created.created) / 1000),
    exp: Math.floor(Date.parse(created.expiration!) / 1000),
    iss: k.issuer,
    token_type: 'Bearer',
    credential_type: 'apikey',
  });

  const token = JSON.parse(
    (await call(k.baseUrl, '/api/auth/token?ttl=1', basic(created.key))).text,
  ) as string;
  // openid-client as a resource server, with client_secret_basic.
  const rs = await oidc.discovery(new URL(k.issuer), 'test-rs', RS_SECRET, undefined, {
    execute: [oidc.allowInsecureRequests],
  });
  expect(await oidc.tokenIntrospection(rs, token)).toMatchObject({
    active: true,
    sub: accountId,
    username: 'alice',
    client_id: 'keyward-cli-token',
    token_type: 'Bearer',
  });
  // client_secret_post works as well.
  expect(
    (await introspect(token, {}, { client_id: 'test-rs', client_secret: RS_SECRET })).body.active,
  ).toBe(true);

  k.clock.offsetMs += 3_600_000 + 1000;
  try {
    expect((await introspect(token)).body).toEqual({ active: false });
    expect((await introspect(created.key)).body.active).toBe(true);
  } finally {
    k.clock.offsetMs = 0;
  }
  expect(
    (await call(k.baseUrl, '/api/apikeys/rs-key', basic(created.key), { method: 'DELETE' })).status,
  ).toBe(204);
  expect((await introspect(created.key)).body).toEqual({ active: false });
});

test('only authenticated resource servers learn anything; malformed requests get OAuth errors', async () => {
  const { key } = await createKey(alice, k.baseUrl, { title: 'private' });
  const web = {
    authorization: `Basic ${Buffer.from(`test-web:${WEB_SECRET}`).toString('base64')}`,
  };
  expect((await introspect(key, web)).body).toEqual({ active: false }); // confidential, not a resource server
  expect((await introspect(key, {}, { client_id: 'test-cli' })).body).toEqual({ active: false }); // public client
  const anonymous = await introspect(key, {});
  expect(anonymous).toMatchObject({ status: 400, body: { error: 'invalid_request' } });
  const wrong = await introspect(key, {
    authorization: `Basic ${Buffer.from('test-rs:nope').toString('base64')}`,
  });
  expect(wrong).toMatchObject({ status: 401, body: { error: 'invalid_client' } });
  expect((await introspect(key, {}, { client_id: 'test-rs', client_secret: 'nope' })).status).toBe(
    401,
  );
  expect((await introspect(key, {}, { client_id: 'nobody', client_secret: 'x' })).status).toBe(401);
  expect((await introspect(key, rsBasic, { client_secret: RS_SECRET })).body).toMatchObject({
    error: 'invalid_request',
  });
  // A malformed key is simply inactive.
  expect((await introspect(`${key}x`)).body).toEqual({ active: false });
});

test('OAuth access tokens still go to the provider behind the same endpoint', async () => {
  const cfg = await oidc.discovery(new URL(k.issuer), 'test-web', WEB_SECRET, undefined, {
    execute: [oidc.allowInsecureRequests],
  });
  const verifier = oidc.randomPKCECodeVerifier();
  const url = oidc.buildAuthorizationUrl(cfg, {
    redirect_uri: RP_CALLBACK,
    scope: 'openid',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state: 's',
  });
  const cb = await signIn(new Browser(), url.toString(), 'alice', PASSWORD, RP_CALLBACK);
  const tokens = await oidc.authorizationCodeGrant(cfg, new URL(cb), {
    pkceCodeVerifier: verifier,
    expectedState: 's',
  });
  expect((await introspect(tokens.access_token)).body).toMatchObject({
    active: true,
    sub: accountId,
    client_id: 'test-web',
  });
});

test('leaked credentials: revoked for anyone who reports them, same answer either way, audited for the owner', async () => {
  const { key, title } = await createKey(alice, k.baseUrl, { title: 'leaked-key' });
  const token = JSON.parse(
    (await call(k.baseUrl, '/api/auth/token?ttl=3', basic(key))).text,
  ) as string;
  const report = (credentials: unknown) =>
    fetch(`${k.baseUrl}/api/credentials/revoke`, {
      method: 'POST',
      body: JSON.stringify({ credentials }),
      headers: { 'content-type': 'application/json', 'x-forwarded-for': 'ignored' },
    });
  const unknown = `${key.slice(0, -8)}AAAAAAAA`;
  const withReal = await report([key, token, unknown, 'not a credential']);
  const withoutReal = await report([unknown, 'not a credential']);
  expect([withReal.status, withoutReal.status]).toEqual([202, 202]);
  const [a, b] = [await withReal.text(), await withoutReal.text()];
  expect(a).toBe(b);
  expect(JSON.parse(a)).toEqual({ message: expect.stringMatching(/have been revoked/) });

  expect((await call(k.baseUrl, '/api/auth/whoami', basic(key))).status).toBe(401);
  expect(
    (await call(k.baseUrl, '/api/auth/whoami', { authorization: `Bearer ${token}` })).status,
  ).toBe(401);
  const events = await k.db
    .collection('audit_events')
    .find({ accountId, type: { $in: ['apikey.revoked', 'token.revoked'] } })
    .toArray();
  expect(events.map((e) => [e.type, e.details.reason])).toEqual(
    expect.arrayContaining([
      ['apikey.revoked', 'reported as leaked'],
      ['token.revoked', 'reported as leaked'],
    ]),
  );
  expect(events.find((e) => e.type === 'apikey.revoked')?.details.name).toBe(title);

  for (const body of [[], Array.from({ length: 101 }, () => 'x'), ['']]) {
    const r = await report(body);
    expect({ n: body.length, status: r.status }).toEqual({ n: body.length, status: 400 });
  }
});

test('the revocation endpoint is rate-limited per client address', async () => {
  // Earlier tests used 2 of the free requests from this address.
  const statuses: number[] = [];
  for (let i = 0; i < FREE; i++) {
    const r = await fetch(`${k.baseUrl}/api/credentials/revoke`, {
      method: 'POST',
      body: JSON.stringify({ credentials: ['pwt_x.y'] }),
      headers: { 'content-type': 'application/json' },
    });
    statuses.push(r.status);
    if (r.status === 429) {
      expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
      expect((await r.json()) as { message: string; code: string }).toMatchObject({
        code: 'rate_limited',
        message: expect.stringMatching(/Too many revocation requests/),
      });
    }
  }
  expect(statuses.slice(0, 2)).toEqual([202, 202]);
  expect(statuses.slice(2)).toEqual([429, 429]);
});
