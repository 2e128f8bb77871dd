/**
 * Access tokens for configured APIs (RFC 8707), JWT or opaque per API: a client_credentials
 * grant for a `jwt` API is an RFC 9068 token the API validates against the JWKS, and nothing is
 * stored; for an `opaque` API it is stored and introspected as before; unknown resources are
 * refused; tokens for Keyward itself stay opaque.
 */
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { dbCommands } from '../helpers/db-commands.ts';
import { startKeyward, type Keyward } from '../helpers/keyward.ts';
import { RS_SECRET, testClients } from '../helpers/clients.ts';

const SECRET = 'svc-secret-0123456789abcdefghijklmnopqrstuv';
const JWT_API = 'https://reports.example.test';
const OPAQUE_API = 'https://billing.example.test';
let k: Keyward;

beforeAll(async () => {
  k = await startKeyward({
    apiResources: [
      {
        identifier: JWT_API,
        scope: 'reports:read reports:write',
        accessTokenFormat: 'jwt',
        accessTokenSeconds: 300,
      },
      { identifier: OPAQUE_API, scope: 'billing:read', accessTokenFormat: 'opaque' },
    ],
    clients: [
      ...testClients,
      {
        client_id: 'svc',
        client_secret: SECRET,
        grant_types: ['client_credentials'],
        redirect_uris: [],
        response_types: [],
        scope: 'reports:read billing:read',
        defaultResource: JWT_API,
      },
      {
        client_id: 'plain',
        client_secret: SECRET,
        grant_types: ['client_credentials'],
        redirect_uris: [],
        response_types: [],
        scope: 'openid',
      },
    ],
  });
});
afterAll(async () => k?.stop());

const basic = (id: string, secret: string) =>
  `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

async function grant(clientId: string, extra: Record<string, string> = {}) {
  const res = await fetch(`${k.issuer}/token`, {
    method: 'POST',
    headers: { authorization: basic(clientId, SECRET) },
    body: new URLSearchParams({ grant_type: 'client_credentials', ...extra }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, string | number> };
}

const commands = (action: () => Promise<unknown>) => dbCommands(k, action);

test('a client whose API wants JWTs gets an RFC 9068 token the API can verify, and nothing is stored', async () => {
  let issued!: Awaited<ReturnType<typeof grant>>;
  expect(
    await commands(async () => {
      issued = await grant('svc', { scope: 'reports:read' });
    }),
  ).toEqual([]);
  expect(issued.status).toBe(200);
  const token = String(issued.body.access_token);
  expect(decodeProtectedHeader(token)).toMatchObject({ typ: 'at+jwt', alg: 'ES256' });
  const { payload } = await jwtVerify(token, createRemoteJWKSet(new URL(`${k.issuer}/jwks`)), {
    issuer: k.issuer,
    audience: JWT_API,
    typ: 'at+jwt',
  });
  expect(payload).toMatchObject({ client_id: 'svc', scope: 'reports:read', sub: 'svc' });
  expect(Number(payload.exp) - Number(payload.iat)).toBe(300);
  expect(await k.db.collection('oidc_client_credentials').countDocuments()).toBe(0);
});

test('an API that wants opaque tokens gets stored, introspectable ones', async () => {
  const issued = await grant('svc', { resource: OPAQUE_API, scope: 'billing:read' });
  expect(issued.status).toBe(200);
  expect(String(issued.body.access_token).split('.')).toHaveLength(1);
  const res = await fetch(`${k.issuer}/introspect`, {
    method: 'POST',
    headers: { authorization: basic('test-rs', RS_SECRET) },
    body: new URLSearchParams({ token: String(issued.body.access_token) }),
  });
  expect(await res.json()).toMatchObject({
    active: true,
    aud: OPAQUE_API,
    scope: 'billing:read',
    client_id: 'svc',
  });
});

test('an unknown resource is refused; a client without one gets an opaque token for Keyward', async () => {
  const unknown = await grant('svc', {
    resource: 'https://elsewhere.example.test',
    scope: 'reports:read',
  });
  expect(unknown.status).toBe(400);
  expect(unknown.body.error).toBe('invalid_target');
  const plain = await grant('plain', { scope: 'openid' });
  expect(plain.status).toBe(200);
  expect(String(plain.body.access_token).split('.')).toHaveLength(1);
  expect(await k.db.collection('oidc_client_credentials').countDocuments()).toBeGreaterThanOrEqual(
    1,
  );
});
