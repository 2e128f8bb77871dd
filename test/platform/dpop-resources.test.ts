/**
 * DPoP (RFC 9449) on Keyward's own resources: an access token bound to a key (`cnf.jkt`) is
 * accepted only as `Authorization: DPoP <token>` with a valid proof of that key (§4.3, §7.1) —
 * on the REST API (/api/auth/whoami, /api/auth/token), as token exchange's subject_token, and on
 * the platform routes for client_credentials tokens. Sent as Bearer it is refused (§7.2).
 * Proofs are single-use, also under concurrent replay. Unbound tokens keep working as Bearer.
 */
import { createHash, randomUUID } from 'node:crypto';
import * as oidc from 'openid-client';
import { exportJWK, SignJWT } from 'jose';
import { signedInBrowser, type Browser } from '../helpers/browserless.ts';
import { createUser, PASSWORD, startKeyward, type Keyward } from '../helpers/keyward.ts';
import { approve, startDevice } from '../helpers/device.ts';
import { testClients } from '../helpers/clients.ts';
import { CLUSTER_CLIENT_SECRET, sshTestClients } from '../helpers/ssh.ts';
import { atOnce, wins } from '../helpers/at-once.ts';
import { bearer, call } from '../helpers/api-keys.ts';

const TE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const AT = 'urn:ietf:params:oauth:token-type:access_token';
const insecure = { execute: [oidc.allowInsecureRequests] };
/** The CLI client from config/default.json (the device flow), which `clients` below replaces. */
const cliClient = {
  client_id: 'pw-cli',
  client_name: 'Platform CLI',
  token_endpoint_auth_method: 'none',
  application_type: 'native',
  redirect_uris: ['http://127.0.0.1/callback'],
  grant_types: ['urn:ietf:params:oauth:grant-type:device_code'],
  scope: 'openid profile email offline_access',
  firstParty: true,
};
const exchangeClient = {
  client_id: 'k8s-cluster',
  client_name: 'Cluster',
  token_endpoint_auth_method: 'none',
  redirect_uris: [],
  grant_types: [TE],
  response_types: [],
  scope: 'openid profile email',
};

let k: Keyward;
let alice: Browser;
let cli: oidc.Configuration;

beforeAll(async () => {
  k = await startKeyward({
    clients: [...testClients, cliClient, exchangeClient],
    deviceFlow: { intervalSeconds: 1 },
  });
  await createUser(k, 'alice', { org: 'acme' });
  alice = await signedInBrowser(k.baseUrl, 'alice', PASSWORD);
  cli = await oidc.discovery(new URL(k.issuer), 'pw-cli', undefined, oidc.None(), insecure);
});
afterAll(async () => k?.stop());

type Keys = CryptoKeyPair;
const newKeys = (): Promise<Keys> => oidc.randomDPoPKeyPair('ES256') as Promise<Keys>;

/** A CLI sign-in (device flow) whose access token the provider binds to `keys` (the CLI sent a DPoP proof). */
async function signIn(keys?: Keys) {
  const start = await startDevice(k.issuer, { device_name: 'dpop' });
  await approve(alice, k.issuer, start.user_code);
  return oidc.pollDeviceAuthorizationGrant(
    cli,
    { ...start, interval: 0 } as never,
    undefined,
    keys ? { DPoP: oidc.getDPoPHandle(cli, keys) } : undefined,
  );
}

const ath = (token: string) => createHash('sha256').update(token).digest('base64url');
const nowSec = () => Math.floor(Date.now() / 1000);

interface ProofClaims {
  htm: string;
  htu: string;
  ath?: string;
  iat?: number;
  jti?: string;
}

/** A DPoP proof JWT (§4.2) signed by `keys`, with the public key embedded; `header` overrides header fields. */
async function proof(
  keys: Keys,
  claims: ProofClaims,
  header: Record<string, unknown> = {},
): Promise<string> {
  const { iat = nowSec(), jti = randomUUID(), ...rest } = claims;
  return new SignJWT({ ...rest, jti, iat })
    .setProtectedHeader({
      alg: 'ES256',
      typ: 'dpop+jwt',
      jwk: await exportJWK(keys.publicKey),
      ...header,
    })
    .sign(keys.privateKey);
}

/** A proof for GET `path` on Keyward presenting `token`. */
const resourceProof = (keys: Keys, path: string, token: string, extra: Partial<ProofClaims> = {}) =>
  proof(keys, { htm: 'GET', htu: `${k.baseUrl}${path}`, ath: ath(token), ...extra });

const dpop = (token: string, p: string) => ({ authorization: `DPoP ${token}`, dpop: p });
const challenge = (res: { headers: Headers }) => res.headers.get('www-authenticate') ?? '';

async function exchange(form: Record<string, string>, headers: Record<string, string> = {}) {
  const res = await fetch(`${k.issuer}/token`, {
    method: 'POST',
    body: new URLSearchParams(form),
    headers,
  });
  return { status: res.status, body: (await res.json()) as Record<string, string> };
}
const exchangeForm = (subject: string) => ({
  grant_type: TE,
  client_id: 'k8s-cluster',
  subject_token: subject,
  subject_token_type: AT,
});

describe('a DPoP-bound access token', () => {
  let keys: Keys;
  let token: string;
  beforeAll(async () => {
    keys = await newKeys();
    const tokens = await signIn(keys);
    expect(tokens.token_type).toBe('dpop');
    token = tokens.access_token;
  });

  test('sent as Bearer is refused on /api/auth/whoami and /api/auth/token, also once it has been used with a proof', async () => {
    for (const round of ['first', 'after a DPoP use']) {
      for (const path of ['/api/auth/whoami', '/api/auth/token?ttl=1']) {
        const res = await call(k.baseUrl, path, bearer(token));
        expect({ round, path, status: res.status }).toEqual({ round, path, status: 401 });
        expect(challenge(res)).toMatch(/^DPoP .*error="invalid_token"/);
        expect(res.json().message).toMatch(/bound to a key \(DPoP\)/);
      }
      if (round === 'first')
        expect(
          (
            await call(
              k.baseUrl,
              '/api/auth/whoami',
              dpop(token, await resourceProof(keys, '/api/auth/whoami', token)),
            )
          ).status,
        ).toBe(200);
    }
  });

  test('with a valid proof of its key: 200 on /api/auth/whoami and /api/auth/token (which mints a CLI token)', async () => {
    const who = await call(
      k.baseUrl,
      '/api/auth/whoami',
      dpop(token, await resourceProof(keys, '/api/auth/whoami', token)),
    );
    expect(who.status).toBe(200);
    expect(who.text).toBe('user:alice');
    // The query is not part of htu (§4.3 check 9).
    const minted = await call(
      k.baseUrl,
      '/api/auth/token?ttl=1',
      dpop(token, await resourceProof(keys, '/api/auth/token', token)),
    );
    expect(minted.status).toBe(200);
    expect(JSON.parse(minted.text)).toMatch(/^pwut_/);
    // A second request from memory (the token is remembered) still needs, and checks, its own proof.
    expect(
      (
        await call(
          k.baseUrl,
          '/api/auth/whoami',
          dpop(token, await resourceProof(keys, '/api/auth/whoami', token)),
        )
      ).status,
    ).toBe(200);
    // And a standard client (openid-client's DPoP handle) gets in too.
    const res = await oidc.fetchProtectedResource(
      cli,
      token,
      new URL(`${k.baseUrl}/api/auth/whoami`),
      'GET',
      undefined,
      undefined,
      { DPoP: oidc.getDPoPHandle(cli, keys) },
    );
    expect(res.status).toBe(200);
  });

  test('an invalid proof is refused with invalid_dpop_proof: wrong htu, htm, ath, missing ath, stale or future iat, typ, alg, private key, no proof', async () => {
    const path = '/api/auth/whoami';
    const other = await newKeys();
    const otherJwk = await exportJWK(other.publicKey);
    const leaky = (await oidc.randomDPoPKeyPair('ES256', { extractable: true })) as Keys;
    const withPrivate = await exportJWK(leaky.privateKey);
    const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const unsignedClaims = {
      htm: 'GET',
      htu: `${k.baseUrl}${path}`,
      ath: ath(token),
      iat: nowSec(),
      jti: randomUUID(),
    };
    const cases: [string, Promise<string> | string | undefined, RegExp][] = [
      ['htu of another route', resourceProof(keys, '/api/auth/session', token), /htu is not/],
      [
        'htu of another host',
        proof(keys, { htm: 'GET', htu: `http://evil.example.test${path}`, ath: ath(token) }),
        /htu is not/,
      ],
      ['htm POST', resourceProof(keys, path, token, { htm: 'POST' }), /htm is not/],
      [
        'ath of another token',
        resourceProof(keys, path, token, { ath: ath(`${token}x`) }),
        /ath is not/,
      ],
      ['no ath', proof(keys, { htm: 'GET', htu: `${k.baseUrl}${path}` }), /needs an ath/],
      [
        'iat ten minutes ago',
        resourceProof(keys, path, token, { iat: nowSec() - 600 }),
        /iat is more than/,
      ],
      [
        'iat ten minutes ahead',
        resourceProof(keys, path, token, { iat: nowSec() + 600 }),
        /iat is more than/,
      ],
      [
        'typ JWT',
        proof(keys, { htm: 'GET', htu: `${k.baseUrl}${path}`, ath: ath(token) }, { typ: 'JWT' }),
        /typ must be/,
      ],
      [
        'embedded key is not the signer',
        proof(keys, { htm: 'GET', htu: `${k.baseUrl}${path}`, ath: ath(token) }, { jwk: otherJwk }),
        /does not verify/,
      ],
      [
        'private key embedded',
        proof(
          leaky,
          { htm: 'GET', htu: `${k.baseUrl}${path}`, ath: ath(token) },
          { jwk: withPrivate },
        ),
        /public key only/,
      ],
      [
        'unsigned (alg none)',
        `${b64({ alg: 'none', typ: 'dpop+jwt', jwk: otherJwk })}.${b64(unsignedClaims)}.`,
        /alg must be/,
      ],
      ['not a JWT', 'garbage', /not a JWT/],
      ['no DPoP header', undefined, /needs a DPoP header/],
    ];
    for (const [name, made, reason] of cases) {
      const p = await made;
      const res = await call(
        k.baseUrl,
        path,
        p === undefined ? { authorization: `DPoP ${token}` } : dpop(token, p),
      );
      expect({ name, status: res.status }).toEqual({ name, status: 401 });
      expect({ name, challenge: challenge(res) }).toEqual({
        name,
        challenge: expect.stringMatching(/^DPoP .*error="invalid_dpop_proof"/),
      });
      expect({ name, message: res.json().message }).toEqual({
        name,
        message: expect.stringMatching(reason),
      });
    }
  });

  test('a proof signed by another key is refused (the key is not the one the token is bound to)', async () => {
    const res = await call(
      k.baseUrl,
      '/api/auth/whoami',
      dpop(token, await resourceProof(await newKeys(), '/api/auth/whoami', token)),
    );
    expect(res.status).toBe(401);
    expect(challenge(res)).toMatch(/^DPoP .*error="invalid_token"/);
    expect(res.json().message).toMatch(/another key/);
  });

  test('a proof is single-use: replayed, it is refused', async () => {
    const p = await resourceProof(keys, '/api/auth/whoami', token);
    expect((await call(k.baseUrl, '/api/auth/whoami', dpop(token, p))).status).toBe(200);
    const replay = await call(k.baseUrl, '/api/auth/whoami', dpop(token, p));
    expect(replay.status).toBe(401);
    expect(challenge(replay)).toMatch(/error="invalid_dpop_proof"/);
    expect(replay.json().message).toMatch(/already been used/);
  });

  test('10 concurrent requests carrying one proof: exactly one succeeds', async () => {
    // Warm the token into memory first, so the race is on the proof, not the token lookup.
    expect(
      (
        await call(
          k.baseUrl,
          '/api/auth/whoami',
          dpop(token, await resourceProof(keys, '/api/auth/whoami', token)),
        )
      ).status,
    ).toBe(200);
    const p = await resourceProof(keys, '/api/auth/whoami', token);
    const results = await atOnce(10, () => call(k.baseUrl, '/api/auth/whoami', dpop(token, p)));
    expect(results.map((r) => r.status).sort()).toEqual([200, ...Array(9).fill(401)]);
    expect(wins(results, (r) => r.status === 200)).toBe(1);
  });

  test("as token exchange subject_token: refused without a proof or with another key's, accepted with a proof of its key", async () => {
    const htu = `${k.issuer}/token`;
    const without = await exchange(exchangeForm(token));
    expect(without.status).toBe(400);
    expect(without.body).toMatchObject({ error: 'invalid_grant' });
    expect(without.body.error_description).toMatch(/DPoP/);

    const otherKey = await exchange(exchangeForm(token), {
      dpop: await proof(await newKeys(), { htm: 'POST', htu }),
    });
    expect(otherKey.status).toBe(400);
    expect(otherKey.body).toMatchObject({ error: 'invalid_grant' });

    const wrongHtu = await exchange(exchangeForm(token), {
      dpop: await proof(keys, { htm: 'POST', htu: `${k.baseUrl}/api/auth/whoami` }),
    });
    expect(wrongHtu.status).toBe(400);
    expect(wrongHtu.body).toMatchObject({ error: 'invalid_dpop_proof' });

    const stale = await exchange(exchangeForm(token), {
      dpop: await proof(keys, { htm: 'POST', htu, iat: nowSec() - 600 }),
    });
    expect(stale.body).toMatchObject({ error: 'invalid_dpop_proof' });

    const good = await proof(keys, { htm: 'POST', htu });
    const ok = await exchange(exchangeForm(token), { dpop: good });
    expect(ok.status).toBe(200);
    expect(ok.body.issued_token_type).toBe('urn:ietf:params:oauth:token-type:id_token');

    const replayed = await exchange(exchangeForm(token), { dpop: good });
    expect(replayed.body).toMatchObject({ error: 'invalid_dpop_proof' });
  });
});

test('an unbound access token keeps working as Bearer, and is refused with the DPoP scheme', async () => {
  const { access_token: token, token_type } = await signIn();
  expect(token_type).toBe('bearer');
  expect((await call(k.baseUrl, '/api/auth/whoami', bearer(token))).status).toBe(200);
  expect((await call(k.baseUrl, '/api/auth/token?ttl=1', bearer(token))).status).toBe(200);
  expect((await exchange(exchangeForm(token))).status).toBe(200);
  const asDpop = await call(
    k.baseUrl,
    '/api/auth/whoami',
    dpop(token, await resourceProof(await newKeys(), '/api/auth/whoami', token)),
  );
  expect(asDpop.status).toBe(401);
  expect(challenge(asDpop)).toMatch(/^DPoP .*error="invalid_token"/);
  expect(asDpop.json().message).toMatch(/not bound to a key/);
});

describe('client_credentials tokens on the platform routes, behind a proxy', () => {
  const PUBLIC = 'http://keyward.example.test';
  let proxied: Keyward;
  let local: string;
  beforeAll(async () => {
    proxied = await startKeyward({ clients: sshTestClients, publicUrl: PUBLIC, trustProxy: true });
    local = `http://127.0.0.1:${(proxied.server.address() as { port: number }).port}`;
  });
  afterAll(async () => proxied?.stop());

  /** A client_credentials token for sshd's scope; bound to `keys` when the request carries their proof. */
  async function clusterToken(keys?: Keys): Promise<{ access_token: string; token_type: string }> {
    // oidc-provider checks its own proofs against the URL the (trusted) proxy forwarded.
    const headers: Record<string, string> = {
      'x-forwarded-host': 'keyward.example.test',
      'x-forwarded-proto': 'http',
      authorization: `Basic ${Buffer.from(`test-cluster:${CLUSTER_CLIENT_SECRET}`).toString('base64')}`,
    };
    if (keys) headers.dpop = await proof(keys, { htm: 'POST', htu: `${PUBLIC}/api/oidc/token` });
    const res = await fetch(`${local}/api/oidc/token`, {
      method: 'POST',
      headers,
      body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'ssh-authorized-keys' }),
    });
    expect(res.status).toBe(200);
    return res.json() as Promise<{ access_token: string; token_type: string }>;
  }

  const path = '/api/users/alice/ssh-public-keys';

  test('a bound token is refused as Bearer and accepted with a proof whose htu is the public URL (no forwarded headers needed); unbound ones work as Bearer', async () => {
    const keys = await newKeys();
    const { access_token: token, token_type } = await clusterToken(keys);
    expect(token_type).toBe('DPoP');
    const asBearer = await call(local, path, bearer(token));
    expect(asBearer.status).toBe(401);
    expect(challenge(asBearer)).toMatch(/^DPoP .*error="invalid_token"/);

    const ok = await call(
      local,
      path,
      dpop(token, await proof(keys, { htm: 'GET', htu: `${PUBLIC}${path}`, ath: ath(token) })),
    );
    expect(ok.status).toBe(200);
    // The address the request reached is not the public one: a proof for it is refused.
    const internal = await call(
      local,
      path,
      dpop(token, await proof(keys, { htm: 'GET', htu: `${local}${path}`, ath: ath(token) })),
    );
    expect(internal.status).toBe(401);
    expect(challenge(internal)).toMatch(/error="invalid_dpop_proof"/);

    // An unbound token keeps working as Bearer.
    const unbound = await clusterToken();
    expect(unbound.token_type).toBe('Bearer');
    expect((await call(local, path, bearer(unbound.access_token))).status).toBe(200);
  });
});
