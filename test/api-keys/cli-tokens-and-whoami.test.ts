/**
 * Short-term CLI tokens (GET /api/auth/token, pwut_), /api/auth/whoami|session|whoami/organization
 * with every kind of credential (session, API key, CLI token, OAuth access token from a real code
 * flow), and a client that finds the server from the key alone, decoding the host exactly as the
 * contract §5.1 says the SDKs do.
 */
import * as oidc from 'openid-client';
import { Browser, signedInBrowser, signIn } from '../helpers/browserless.ts';
import { createUser, PASSWORD, startKeyward, type Keyward } from '../helpers/keyward.ts';
import { RP_CALLBACK, THIRD_SECRET, WEB_SECRET, testClients } from '../helpers/clients.ts';
import { basic, bearer, call, createKey, TOKEN_PATTERN } from '../helpers/api-keys.ts';
import { hostForBaseUrl } from '../../src/features/api-keys/api-key-format.ts';

let k: Keyward;
let alice: Browser;

beforeAll(async () => {
  k = await startKeyward({ clients: testClients });
  await createUser(k, 'J.Doe', { org: 'acme', admin: true });
  await createUser(k, 'loner');
  alice = await signedInBrowser(k.baseUrl, 'j.doe', PASSWORD);
});
afterAll(async () => k?.stop());

const json = { accept: 'application/json' };

test('GET /api/auth/token: a JSON string pwut_ token for 1–24 h, sent as Bearer or Basic username, expiring on time', async () => {
  const res = await alice.fetch(`${k.baseUrl}/api/auth/token?ttl=2`, { headers: json });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  expect(res.headers.get('cache-control')).toBe('no-store');
  const token = JSON.parse(await res.text()) as string;
  expect(token).toMatch(TOKEN_PATTERN);

  expect((await call(k.baseUrl, '/api/auth/whoami', bearer(token))).text).toBe('user:J.Doe');
  expect((await call(k.baseUrl, '/api/auth/whoami', basic(token))).text).toBe('user:J.Doe');
  const listed = JSON.parse((await call(k.baseUrl, '/api/apikeys', bearer(token))).text) as {
    kind: string;
    title: string;
    expiration: string;
    created: string;
  }[];
  const row = listed.find((r) => r.kind === 'token')!;
  expect(row.title).toMatch(/^cli-token-\d{8}-\d{6}-[0-9a-f]{4}$/);
  expect((Date.parse(row.expiration) - Date.parse(row.created)) / 3_600_000).toBeCloseTo(2, 3);

  // A token cannot mint another (no self-renewal); bad ttl values are 400 with a message.
  const self = await call(k.baseUrl, '/api/auth/token', bearer(token));
  expect(self.status).toBe(403);
  for (const ttl of ['0', '25', 'abc', '1.5']) {
    const r = await alice.fetch(`${k.baseUrl}/api/auth/token?ttl=${ttl}`, { headers: json });
    expect({ ttl, status: r.status }).toEqual({ ttl, status: 400 });
    expect(((await r.json()) as { message: string }).message).toMatch(/ttl/);
  }

  k.clock.offsetMs += 2 * 3_600_000 + 1000;
  try {
    const expired = await call(k.baseUrl, '/api/auth/whoami', bearer(token));
    expect(expired.status).toBe(401);
    expect(expired.json().message).toMatch(/CLI token expired/);
  } finally {
    k.clock.offsetMs = 0;
  }
});

test('an API key may mint a CLI token (default 24 h); the token is deletable by name like a key', async () => {
  const { key } = await createKey(alice, k.baseUrl, { title: 'automation' });
  const token = JSON.parse((await call(k.baseUrl, '/api/auth/token', basic(key))).text) as string;
  const rows = JSON.parse((await call(k.baseUrl, '/api/apikeys', basic(key))).text) as {
    kind: string;
    title: string;
    expiration: string;
    created: string;
  }[];
  const row = rows
    .filter((r) => r.kind === 'token')
    .sort((a, b) => b.created.localeCompare(a.created))[0];
  expect((Date.parse(row.expiration) - Date.parse(row.created)) / 3_600_000).toBeCloseTo(24, 3);
  expect(
    (await call(k.baseUrl, `/api/apikeys/${row.title}`, basic(key), { method: 'DELETE' })).status,
  ).toBe(204);
  expect((await call(k.baseUrl, '/api/auth/whoami', bearer(token))).status).toBe(401);
});

test('whoami, session and organization answer the same caller for a session, an API key and a CLI token', async () => {
  const { key } = await createKey(alice, k.baseUrl, { title: 'whoami' });
  const token = JSON.parse(
    (await call(k.baseUrl, '/api/auth/token?ttl=1', basic(key))).text,
  ) as string;
  const session = (await (
    await alice.fetch(`${k.baseUrl}/api/auth/session`, { headers: json })
  ).json()) as Record<string, unknown>;
  expect(session).toMatchObject({
    username: 'J.Doe',
    safeUsername: 'jdoe',
    name: 'J.Doe Example',
    email: 'j.doe@example.com',
    admin: false,
    organization: 'acme',
    organizationAdmin: true,
    organizationRoles: ['org:admin'],
    allocationSystem: 'legacy',
  });
  for (const headers of [basic(key), bearer(token)]) {
    expect(JSON.parse((await call(k.baseUrl, '/api/auth/session', headers)).text)).toEqual(session);
    expect(JSON.parse((await call(k.baseUrl, '/api/v2/auth/session', headers)).text)).toEqual(
      session,
    );
    const orgName = await call(k.baseUrl, '/api/auth/whoami/organization', headers);
    expect(orgName.type).toMatch(/^application\/json/);
    expect(JSON.parse(orgName.text)).toBe('acme');
  }
  expect(await (await alice.fetch(`${k.baseUrl}/api/auth/whoami`, { headers: json })).text()).toBe(
    'user:J.Doe',
  );

  const loner = await signedInBrowser(k.baseUrl, 'loner', PASSWORD);
  const none = await loner.fetch(`${k.baseUrl}/api/auth/whoami/organization`, { headers: json });
  expect(none.status).toBe(404);
  expect(((await none.json()) as { message: string }).message).toMatch(
    /not a member of any organization/,
  );
  expect((await call(k.baseUrl, '/api/auth/session')).status).toBe(401);
});

test('OAuth access tokens of first-party apps authenticate REST calls; third-party and revoked ones do not', async () => {
  const insecure = { execute: [oidc.allowInsecureRequests] };
  const tokensFor = async (clientId: string, secret: string) => {
    const cfg = await oidc.discovery(new URL(k.issuer), clientId, secret, undefined, insecure);
    const verifier = oidc.randomPKCECodeVerifier();
    const url = oidc.buildAuthorizationUrl(cfg, {
      redirect_uri: RP_CALLBACK,
      scope: 'openid profile email',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state: 's',
    });
    const browser = new Browser();
    const cb = await signIn(browser, url.toString(), 'j.doe', PASSWORD, RP_CALLBACK).catch(
      async () => {
        // Third-party apps show a consent page first: approve it.
        const page = await browser.follow(url.toString(), (u) => u.startsWith(RP_CALLBACK));
        const html = await page.res.text();
        const action = new URL(
          /action="([^"]*consent[^"]*)"/.exec(html)![1].replace(/&amp;/g, '&'),
          page.url,
        ).toString();
        const posted = await browser.postForm(action, {
          _csrf: /name="_csrf" value="([^"]*)"/.exec(html)![1],
        });
        return (
          await browser.follow(new URL(posted.headers.get('location')!, action).toString(), (u) =>
            u.startsWith(RP_CALLBACK),
          )
        ).url;
      },
    );
    return {
      cfg,
      tokens: await oidc.authorizationCodeGrant(cfg, new URL(cb), {
        pkceCodeVerifier: verifier,
        expectedState: 's',
      }),
    };
  };

  const { cfg, tokens } = await tokensFor('test-web', WEB_SECRET);
  const whoami = await call(k.baseUrl, '/api/auth/whoami', bearer(tokens.access_token));
  expect(whoami).toMatchObject({ status: 200, text: 'user:J.Doe' });
  expect(
    JSON.parse((await call(k.baseUrl, '/api/auth/session', bearer(tokens.access_token))).text),
  ).toMatchObject({ username: 'J.Doe' });
  // An OAuth token cannot create API keys (browser session only).
  expect(
    (
      await call(
        k.baseUrl,
        '/api/apikeys',
        { ...bearer(tokens.access_token), 'content-type': 'application/json' },
        { method: 'POST', body: '{}' },
      )
    ).status,
  ).toBe(403);

  await oidc.tokenRevocation(cfg, tokens.access_token);
  expect((await call(k.baseUrl, '/api/auth/whoami', bearer(tokens.access_token))).status).toBe(401);
  expect((await call(k.baseUrl, '/api/auth/whoami', bearer('x'.repeat(43)))).status).toBe(401);

  const third = await tokensFor('test-third', THIRD_SECRET);
  const refused = await call(k.baseUrl, '/api/auth/whoami', bearer(third.tokens.access_token));
  expect(refused.status).toBe(403);
  expect(refused.json().message).toMatch(/third-party application/);
});

/** The host in a credential, decoded as contract §5.1 describes the SDKs (TypeScript variant). */
function sdkPlatformHost(credential: string): string {
  const value = credential.trim();
  const rest = value.slice(value.indexOf('_') + 1);
  const segment = rest.slice(0, rest.indexOf('.'));
  let host = Buffer.from(segment, 'base64url').toString('utf8');
  if (!host || /[^\x21-\x7e]/.test(host)) host = Buffer.from(segment, 'base64').toString('utf8');
  if (!host) throw new Error('empty host');
  return /^https?:\/\//.test(host) ? host : `https://${host}`;
}

test('an SDK-style client finds the server from the key alone (http:// and port kept) and reaches it', async () => {
  // The decoder itself, on the contract's examples.
  expect(sdkPlatformHost('pwt_aG9zdA==.key')).toBe('https://host');
  expect(sdkPlatformHost('pwt_Y2xvdWQucGFyYWxsZWwud29ya3M.xxxxx')).toBe(
    'https://cloud.parallel.works',
  );
  // What Keyward encodes: bare host for https:443, the full URL otherwise.
  expect(hostForBaseUrl('https://id.example.com')).toBe('id.example.com');
  expect(hostForBaseUrl('https://id.example.com:8443')).toBe('https://id.example.com:8443');
  expect(hostForBaseUrl('http://127.0.0.1:3000/')).toBe('http://127.0.0.1:3000');

  const { key } = await createKey(alice, k.baseUrl, { title: 'sdk' });
  const token = JSON.parse(
    (await call(k.baseUrl, '/api/auth/token?ttl=1', basic(key))).text,
  ) as string;
  for (const [credential, header] of [
    [key, basic(key)],
    [token, bearer(token)],
  ] as const) {
    const host = sdkPlatformHost(credential);
    expect(host).toBe(k.baseUrl);
    const res = await fetch(`${host}/api/auth/whoami`, { headers: header });
    expect(await res.text()).toBe('user:J.Doe');
  }
});
