/**
 * RFC 8693 token exchange on /api/oidc/token (contract §2.4): an API key or CLI token as
 * subject_token → an ID token (token_type N_A) or a JWT access token for a named audience,
 * verified against the published JWKS; the contract's request shapes (client_id or audience, no
 * secret) and error codes; refused for unknown audiences, bad subjects and disabled users.
 */
import { createPublicKey, verify } from 'node:crypto';
import { signedInBrowser, type Browser } from '../helpers/browserless.ts';
import { createUser, PASSWORD, startKeyward, type Keyward } from '../helpers/keyward.ts';
import { testClients } from '../helpers/clients.ts';
import { basic, call, createKey } from '../helpers/api-keys.ts';

const TE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const AT = 'urn:ietf:params:oauth:token-type:access_token';
const IDT = 'urn:ietf:params:oauth:token-type:id_token';
const SERVICE_SECRET = 'test-exchange-service-secret-0123456789abc';

const clients = [
  ...testClients,
  {
    client_id: 'k8s-cluster',
    client_name: 'Cluster',
    token_endpoint_auth_method: 'none',
    redirect_uris: [],
    grant_types: [TE],
    response_types: [],
    scope: 'openid profile email',
  },
  {
    client_id: 'exchange-service',
    client_name: 'Service',
    client_secret: SERVICE_SECRET,
    redirect_uris: [],
    grant_types: [TE],
    response_types: [],
  },
];

let k: Keyward;
let alice: Browser;
let key: string;
let accountId: string;

beforeAll(async () => {
  k = await startKeyward({ clients });
  accountId = (await createUser(k, 'alice', { org: 'acme' })).id;
  alice = await signedInBrowser(k.baseUrl, 'alice', PASSWORD);
  key = (await createKey(alice, k.baseUrl, { title: 'exchange' })).key;
});
afterAll(async () => k?.stop());

async function exchange(form: Record<string, string>, headers: Record<string, string> = {}) {
  const res = await fetch(`${k.issuer}/token`, {
    method: 'POST',
    body: new URLSearchParams(form),
    headers,
  });
  return { status: res.status, body: (await res.json()) as Record<string, string & number> };
}

/** Verifies a JWT's signature against the provider's JWKS; answers header and payload. */
async function verifyJwt(
  jwt: string,
): Promise<{ header: Record<string, unknown>; payload: Record<string, unknown> }> {
  const [h, p, s] = jwt.split('.');
  const header = JSON.parse(Buffer.from(h, 'base64url').toString()) as { kid: string; alg: string };
  const { keys } = (await (await fetch(`${k.issuer}/jwks`)).json()) as { keys: { kid: string }[] };
  const jwk = keys.find((x) => x.kid === header.kid);
  if (!jwk) throw new Error(`no JWKS key ${header.kid}`);
  const publicKey = createPublicKey({ key: jwk as never, format: 'jwk' });
  const ok = verify(
    'sha256',
    Buffer.from(`${h}.${p}`),
    header.alg.startsWith('ES') ? { key: publicKey, dsaEncoding: 'ieee-p1363' } : publicKey,
    Buffer.from(s, 'base64url'),
  );
  if (!ok) throw new Error('bad signature');
  return {
    header,
    payload: JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>,
  };
}

test('discovery advertises the token-exchange grant', async () => {
  const meta = (await (await fetch(`${k.issuer}/.well-known/openid-configuration`)).json()) as {
    grant_types_supported: string[];
  };
  expect(meta.grant_types_supported).toContain(TE);
});

test('client_id + API key (no secret): an ID token for that app in access_token, token_type N_A', async () => {
  const { status, body } = await exchange({
    grant_type: TE,
    client_id: 'k8s-cluster',
    subject_token: key,
    subject_token_type: AT,
  });
  expect(status).toBe(200);
  expect(body).toMatchObject({
    token_type: 'N_A',
    issued_token_type: IDT,
    scope: 'openid profile email',
  });
  expect(body.expires_in).toBeGreaterThan(0);
  expect(body.expires_in).toBeLessThanOrEqual(300);
  const { payload } = await verifyJwt(body.access_token);
  expect(payload).toMatchObject({
    iss: k.issuer,
    aud: 'k8s-cluster',
    sub: accountId,
    preferred_username: 'alice',
    email: 'alice@example.com',
  });
  expect((payload.exp as number) - (payload.iat as number)).toBe(body.expires_in);
});

test('audience only (no client_id), and a CLI token as the subject', async () => {
  const token = JSON.parse(
    (await call(k.baseUrl, '/api/auth/token?ttl=1', basic(key))).text,
  ) as string;
  const { status, body } = await exchange({
    grant_type: TE,
    audience: 'k8s-cluster',
    subject_token: token,
    subject_token_type: AT,
    scope: 'openid',
  });
  expect(status).toBe(200);
  const { payload } = await verifyJwt(body.access_token);
  expect(payload).toMatchObject({ aud: 'k8s-cluster', sub: accountId });
  expect(payload.email).toBeUndefined(); // scope=openid only
});

test('requested_token_type access_token: a signed JWT access token (at+jwt) for the audience', async () => {
  const { status, body } = await exchange({
    grant_type: TE,
    client_id: 'k8s-cluster',
    subject_token: key,
    subject_token_type: AT,
    requested_token_type: AT,
  });
  expect(status).toBe(200);
  expect(body).toMatchObject({ token_type: 'Bearer', issued_token_type: AT });
  const { header, payload } = await verifyJwt(body.access_token);
  expect(header.typ).toBe('at+jwt');
  expect(payload).toMatchObject({
    iss: k.issuer,
    aud: 'k8s-cluster',
    sub: accountId,
    client_id: 'k8s-cluster',
    scope: 'openid profile email',
  });
  expect(typeof payload.jti).toBe('string');
});

test('a confidential client authenticates itself and may ask for another audience (azp names it)', async () => {
  const auth = {
    authorization: `Basic ${Buffer.from(`exchange-service:${SERVICE_SECRET}`).toString('base64')}`,
  };
  const { status, body } = await exchange(
    { grant_type: TE, audience: 'k8s-cluster', subject_token: key, subject_token_type: AT },
    auth,
  );
  expect(status).toBe(200);
  expect((await verifyJwt(body.access_token)).payload).toMatchObject({
    aud: 'k8s-cluster',
    azp: 'exchange-service',
  });
  // Without its secret it is refused, as any confidential client.
  expect(
    (
      await exchange({
        grant_type: TE,
        client_id: 'exchange-service',
        subject_token: key,
        subject_token_type: AT,
      })
    ).body.error,
  ).toBe('invalid_client');
  // An audience that does not accept exchanged tokens.
  expect(
    (
      await exchange(
        { grant_type: TE, audience: 'test-web', subject_token: key, subject_token_type: AT },
        auth,
      )
    ).body.error,
  ).toBe('invalid_target');
});

test('the contract errors: unauthorized_client, invalid_target, invalid_request, invalid_scope', async () => {
  const base = { grant_type: TE, subject_token: key, subject_token_type: AT };
  const cases: [Record<string, string>, string, number][] = [
    [{ client_id: 'test-web' }, 'unauthorized_client', 400], // an app of another kind named by client_id
    [{ audience: 'test-web' }, 'invalid_target', 400], // … or only by audience
    [{ audience: 'no-such-app' }, 'invalid_target', 400],
    [{ audience: 'exchange-service' }, 'invalid_target', 400], // needs a secret, so not by audience alone
    [{ client_id: 'no-such-app' }, 'invalid_client', 401],
    [
      {
        client_id: 'k8s-cluster',
        subject_token_type: 'urn:ietf:params:oauth:token-type:refresh_token',
      },
      'invalid_request',
      400,
    ],
    [{ client_id: 'k8s-cluster', subject_token: '' }, 'invalid_request', 400],
    [
      { client_id: 'k8s-cluster', requested_token_type: 'urn:example:saml' },
      'invalid_request',
      400,
    ],
    [{ client_id: 'k8s-cluster', actor_token: key, actor_token_type: AT }, 'invalid_request', 400],
    [{ client_id: 'k8s-cluster', scope: 'openid offline_access' }, 'invalid_scope', 400],
  ];
  for (const [extra, error, status] of cases) {
    const r = await exchange({ ...base, ...extra });
    expect({ extra, status: r.status, error: r.body.error }).toEqual({ extra, status, error });
  }
});

test('refused subjects: malformed, deleted, expired, disabled user (invalid_grant)', async () => {
  const form = (subject: string) => ({
    grant_type: TE,
    client_id: 'k8s-cluster',
    subject_token: subject,
    subject_token_type: AT,
  });
  const bad = await exchange(form(`${key.slice(0, -1)}${key.endsWith('a') ? 'b' : 'a'}`));
  expect(bad).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
  expect(bad.body.error_description).toMatch(/checksum/);

  const doomed = await createKey(alice, k.baseUrl, { title: 'doomed', duration: '1' });
  expect((await exchange(form(doomed.key))).status).toBe(200);
  k.clock.offsetMs += 86_400_000 + 1000;
  try {
    expect((await exchange(form(doomed.key))).body).toMatchObject({
      error: 'invalid_grant',
      error_description: expect.stringMatching(/expired/),
    });
  } finally {
    k.clock.offsetMs = 0;
  }
  await call(k.baseUrl, '/api/apikeys/doomed', basic(key), { method: 'DELETE' });
  expect((await exchange(form(doomed.key))).body.error).toBe('invalid_grant');

  await k.container.accounts.setDisabled('alice', true);
  try {
    const disabled = await exchange(form(key));
    expect(disabled.body).toMatchObject({
      error: 'invalid_grant',
      error_description: expect.stringMatching(/disabled/),
    });
  } finally {
    await k.container.accounts.setDisabled('alice', false);
  }
  expect((await exchange(form(key))).status).toBe(200);
});
