/**
 * The REST API's request edge (issue 11, items 4 and 7): a state change authenticated by the
 * browser session cookie must prove it comes from Keyward's own origin (Sec-Fetch-Site, else
 * Origin) and carry JSON; API keys in the Authorization header are not subject to the origin
 * check; non-JSON bodies are a 415 for everyone; undecodable bodies a 400 (never a 500); size
 * limits say so; HSTS when published over https.
 */
import { randomBytes } from 'node:crypto';
import { deflateSync, gzipSync } from 'node:zlib';
import { createUser, PASSWORD, startKeyward, type Keyward } from '../helpers/keyward.ts';
import { signedInBrowser, type Browser } from '../helpers/browserless.ts';
import { basic, createKey } from '../helpers/api-keys.ts';
import { KeyDir, json } from '../helpers/ssh.ts';
import { atOnce } from '../helpers/at-once.ts';

const LIMIT = 4096;
const kd = new KeyDir();
let k: Keyward;
let alice: Browser;

beforeAll(async () => {
  k = await startKeyward({ bodyLimitBytes: LIMIT });
  await createUser(k, 'alice');
  alice = await signedInBrowser(k.baseUrl, 'alice', PASSWORD);
});
afterAll(async () => {
  await k?.stop();
  kd.remove();
});

const cookieOf = (b: Browser) =>
  [...b.cookies].map(([name, value]) => `${name}=${value}`).join('; ');

function parsed(text: string): { code?: string; message?: string } | null {
  try {
    return text ? (JSON.parse(text) as { code?: string; message?: string }) : null;
  } catch {
    return { message: text };
  }
}

/** A raw request: exactly these headers (plus Alice's session cookie unless `cookies: false`). */
async function send(
  path: string,
  init: {
    method?: string;
    headers?: Record<string, string>;
    body?: BodyInit;
    cookies?: boolean;
  } = {},
) {
  const res = await fetch(`${k.baseUrl}${path}`, {
    method: init.method ?? 'POST',
    body: init.body,
    headers: {
      accept: 'application/json',
      ...(init.cookies === false ? {} : { cookie: cookieOf(alice) }),
      ...init.headers,
    },
  });
  const text = await res.text();
  return { status: res.status, body: parsed(text) };
}

const sshKeys = () => k.db.collection('ssh_public_keys').countDocuments();
const apiKeys = () => k.db.collection('personal_credentials').countDocuments();
const SAME_ORIGIN = () => ({ origin: k.baseUrl, 'sec-fetch-site': 'same-origin' });
const EVIL = 'http://evil.example.test';
/** Key titles unique per run (a retried test must not meet its first run's keys). */
const unique = (title: string) => `${title}-${randomBytes(4).toString('hex')}`;

function multipart(fields: Record<string, string>): FormData {
  const form = new FormData();
  for (const [name, value] of Object.entries(fields)) form.set(name, value);
  return form;
}

test('a cookie-authenticated form, text/plain or multipart body is refused, from the same origin too, and adds nothing', async () => {
  const { publicKey } = await kd.generate('ed25519');
  const before = { ssh: await sshKeys(), api: await apiKeys() };
  const bodies: [string, () => { body: BodyInit; headers: Record<string, string> }][] = [
    [
      'form',
      () => ({ body: new URLSearchParams({ title: 'planted', key: publicKey }), headers: {} }),
    ],
    [
      'text/plain',
      () => ({
        body: JSON.stringify({ title: 'planted', key: publicKey }),
        headers: { 'content-type': 'text/plain' },
      }),
    ],
    ['multipart', () => ({ body: multipart({ title: 'planted', key: publicKey }), headers: {} })],
  ];
  for (const [kind, make] of bodies) {
    for (const origin of [SAME_ORIGIN(), { origin: EVIL, 'sec-fetch-site': 'same-site' }]) {
      const { body, headers } = make();
      const res = await send('/api/ssh-public-keys', { body, headers: { ...origin, ...headers } });
      expect({ kind, origin, status: res.status }).toEqual({
        kind,
        origin,
        status: origin.origin === EVIL ? 403 : 415,
      });
    }
  }
  // The reported variant: POST /api/apikeys with text/plain used to create a key.
  const planted = await send('/api/apikeys', {
    body: '{}',
    headers: { ...SAME_ORIGIN(), 'content-type': 'text/plain' },
  });
  expect(planted.status).toBe(415);
  expect(planted.body?.message).toBe(
    'This API takes JSON: send the body with Content-Type: application/json (got text/plain).',
  );
  expect({ ssh: await sshKeys(), api: await apiKeys() }).toEqual(before);
});

test('a cookie-authenticated JSON request from another origin, or with no proof of origin, is refused and changes nothing', async () => {
  const { publicKey } = await kd.generate('ed25519');
  const before = await sshKeys();
  const refusedHeaders: Record<string, string>[] = [
    { origin: EVIL, 'sec-fetch-site': 'same-site' }, // the sibling-subdomain attack
    { origin: EVIL, 'sec-fetch-site': 'cross-site' },
    { origin: k.baseUrl, 'sec-fetch-site': 'same-site' }, // Sec-Fetch-Site is believed over Origin
    { origin: EVIL }, // a browser without Fetch Metadata
    { origin: 'null' },
    {}, // neither header: not provably from Keyward's pages
  ];
  for (const headers of refusedHeaders) {
    const res = await send('/api/ssh-public-keys', {
      body: JSON.stringify({ key: publicKey }),
      headers: { ...headers, 'content-type': 'application/json' },
    });
    expect({ headers, status: res.status, code: res.body?.code }).toEqual({
      headers,
      status: 403,
      code: 'csrf_failed',
    });
    expect(res.body?.message).toMatch(
      /Cross-site request refused.*send an API key or token in the Authorization header/,
    );
  }
  expect(await sshKeys()).toBe(before);

  // Body-less state changes (a no-cors fetch POST, a DELETE) are checked too.
  const { key, title } = await createKey(alice, k.baseUrl, { title: unique('kept-key') });
  for (const method of ['DELETE', 'POST']) {
    const path =
      method === 'DELETE' ? `/api/apikeys/${title}` : '/api/account/sessions/revoke-others';
    const res = await send(path, {
      method,
      headers: { origin: EVIL, 'sec-fetch-site': 'same-site' },
    });
    expect({ method, status: res.status }).toEqual({ method, status: 403 });
  }
  expect(
    (await send('/api/auth/whoami', { method: 'GET', cookies: false, headers: basic(key) })).status,
  ).toBe(200);
  expect((await send('/api/auth/whoami', { method: 'GET' })).status).toBe(200); // the session was not signed out either

  // Eight at once from the sibling origin: none gets through.
  const results = await atOnce(
    8,
    async () =>
      (
        await send('/api/ssh-public-keys', {
          body: JSON.stringify({ key: (await kd.generate('ed25519')).publicKey }),
          headers: {
            origin: EVIL,
            'sec-fetch-site': 'same-site',
            'content-type': 'application/json',
          },
        })
      ).status,
  );
  expect(results).toEqual(Array(8).fill(403));
  expect(await sshKeys()).toBe(before);

  // Keyward's own pages prove their origin by Sec-Fetch-Site, or by Origin (its own or the public one) without it.
  const accepted: Record<string, string>[] = [
    { 'sec-fetch-site': 'same-origin', origin: k.baseUrl },
    { 'sec-fetch-site': 'none' },
    { origin: k.baseUrl },
  ];
  for (const headers of accepted) {
    const res = await send('/api/ssh-public-keys', {
      body: JSON.stringify({ key: (await kd.generate('ed25519')).publicKey }),
      headers: { ...headers, 'content-type': 'application/json' },
    });
    expect({ headers, status: res.status }).toEqual({ headers, status: 200 });
  }
  expect(await sshKeys()).toBe(before + accepted.length);
});

test('an API key in the Authorization header is not subject to the origin check; its bodies must still be JSON', async () => {
  const { key } = await createKey(alice, k.baseUrl, { title: unique('header-key') });
  const victim = await createKey(alice, k.baseUrl, { title: unique('to-delete') });
  const del = await send(`/api/apikeys/${victim.title}`, {
    method: 'DELETE',
    cookies: false,
    headers: { ...basic(key), origin: EVIL, 'sec-fetch-site': 'cross-site' },
  });
  expect(del.status).toBe(204);
  const revoked = await send('/api/credentials/revoke', {
    cookies: false,
    body: JSON.stringify({ credentials: ['pwt_x.y'] }),
    headers: {
      ...basic(key),
      origin: EVIL,
      'sec-fetch-site': 'cross-site',
      'content-type': 'application/json',
    },
  });
  expect(revoked.status).toBe(202);
  const form = await send('/api/credentials/revoke', {
    cookies: false,
    body: new URLSearchParams({ credentials: 'pwt_x.y' }),
    headers: basic(key),
  });
  expect(form.status).toBe(415);
});

test('JSON routes answer 415 to any other body, for every caller; body-less requests need no Content-Type', async () => {
  const bodies: [string, BodyInit, Record<string, string>][] = [
    ['xml', '<credentials/>', { 'content-type': 'application/xml' }],
    ['multipart', multipart({ credentials: 'x' }), {}],
    ['form', new URLSearchParams({ credentials: 'x' }), {}],
    ['text/plain', '{"credentials":["x"]}', { 'content-type': 'text/plain' }],
    ['no content type', new Uint8Array(Buffer.from('{"credentials":["x"]}')), {}],
    ['json-like', '{"credentials":["x"]}', { 'content-type': 'application/jsonx' }],
  ];
  for (const [kind, body, headers] of bodies) {
    const res = await send('/api/credentials/revoke', { cookies: false, body, headers });
    expect({ kind, status: res.status, code: res.body?.code }).toEqual({
      kind,
      status: 415,
      code: 'unsupported_media_type',
    });
    expect(res.body?.message).toMatch(/^This API takes JSON: .*Content-Type: application\/json/);
  }
  // Upper case in the path does not step around it (the router ignores case).
  expect(
    (
      await send('/API/credentials/revoke', {
        cookies: false,
        body: '{"credentials":["x"]}',
        headers: { 'content-type': 'text/plain' },
      })
    ).status,
  ).toBe(415);
  const ok = await send('/api/credentials/revoke', {
    cookies: false,
    body: '{"credentials":["pwt_x.y"]}',
    headers: { 'content-type': 'application/json; charset=utf-8' },
  });
  expect(ok.status).toBe(202);
  const bodiless = await send('/api/credentials/revoke', { cookies: false });
  expect(bodiless.status).toBe(400);
  expect(bodiless.body?.code).toBe('validation_failed');
});

test('undecodable bodies are a 400 saying why, never a 500 (the unauthenticated leak-revocation endpoint included)', async () => {
  const cases: [string, BodyInit, Record<string, string>, RegExp][] = [
    ['gzip garbage', 'this is not gzip', { 'content-encoding': 'gzip' }, /not valid gzip data/],
    ['deflate garbage', 'nor deflate', { 'content-encoding': 'deflate' }, /not valid deflate data/],
    ['br garbage', 'nor brotli', { 'content-encoding': 'br' }, /not valid br data/],
    [
      'truncated gzip',
      new Uint8Array(gzipSync('{"credentials":["pwt_x.y"]}').subarray(0, 15)),
      { 'content-encoding': 'gzip' },
      /not valid gzip data/,
    ],
    ['invalid JSON', '{"credentials":', {}, /not valid JSON/],
  ];
  for (const [kind, body, headers, message] of cases) {
    const res = await send('/api/credentials/revoke', {
      cookies: false,
      body,
      headers: { 'content-type': 'application/json', ...headers },
    });
    expect({ kind, status: res.status }).toEqual({ kind, status: 400 });
    expect(res.body?.message).toMatch(message);
  }
  // A page's form with a broken encoding too.
  const page = await alice.fetch(`${k.baseUrl}/account/ssh-keys`, {
    method: 'POST',
    body: 'garbage',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-encoding': 'gzip' },
  });
  expect(page.status).toBe(400);
  const unknown = await send('/api/credentials/revoke', {
    cookies: false,
    body: 'x',
    headers: { 'content-type': 'application/json', 'content-encoding': 'zstd' },
  });
  expect(unknown.status).toBe(415);
  expect(unknown.body?.message).toBe(
    'Content-Encoding "zstd" is not supported: send the body uncompressed, or as gzip, deflate or br.',
  );
  // Properly compressed bodies still work.
  for (const [encoding, data] of [
    ['gzip', gzipSync('{"credentials":["pwt_x.y"]}')],
    ['deflate', deflateSync('{"credentials":["pwt_x.y"]}')],
  ] as const) {
    const res = await send('/api/credentials/revoke', {
      cookies: false,
      body: new Uint8Array(data),
      headers: { 'content-type': 'application/json', 'content-encoding': encoding },
    });
    expect({ encoding, status: res.status }).toEqual({ encoding, status: 202 });
  }
});

test('size limits say so: the body limit (413) and an over-long SSH public key', async () => {
  const big = await send('/api/credentials/revoke', {
    cookies: false,
    body: JSON.stringify({ credentials: ['x'.repeat(LIMIT)] }),
    headers: { 'content-type': 'application/json' },
  });
  expect(big.status).toBe(413);
  expect(big.body).toMatchObject({
    code: 'payload_too_large',
    message: `The request body is too large: the limit is ${LIMIT} bytes.`,
  });
  const bomb = await send('/api/credentials/revoke', {
    cookies: false,
    body: new Uint8Array(gzipSync(JSON.stringify({ credentials: ['x'.repeat(LIMIT * 10)] }))),
    headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
  });
  expect(bomb.status).toBe(413);
  expect(bomb.body?.message).toBe(
    `The request body is too large: the limit is ${LIMIT} bytes (after decompression).`,
  );

  const roomy = await startKeyward({ bodyLimitBytes: 65536 });
  try {
    await createUser(roomy, 'alice');
    const browser = await signedInBrowser(roomy.baseUrl, 'alice', PASSWORD);
    const long = await json(browser, `${roomy.baseUrl}/api/ssh-public-keys`, {
      method: 'POST',
      body: { title: 'long', key: `ssh-ed25519 ${'A'.repeat(20000)}` },
    });
    expect(long.status).toBe(400);
    expect(long.body.message).toMatch(
      /^Invalid request body: key: is too long: more than 16384 characters, far longer than any SSH public key/,
    );
    const missing = await json(browser, `${roomy.baseUrl}/api/ssh-public-keys`, {
      method: 'POST',
      body: { title: 'none' },
    });
    expect(missing.body.message).toMatch(/key: is required/);
  } finally {
    await roomy.stop();
  }
});

test('HSTS when the public URL is https, not when it is http', async () => {
  expect((await fetch(`${k.baseUrl}/healthz`)).headers.get('strict-transport-security')).toBeNull();
  const tls = await startKeyward({ publicUrl: 'https://id.example.test' });
  try {
    const address = tls.server.address() as { port: number };
    for (const path of [
      '/healthz',
      '/signin',
      '/api/auth/whoami',
      '/api/oidc/.well-known/openid-configuration',
    ]) {
      const res = await fetch(`http://127.0.0.1:${address.port}${path}`, { redirect: 'manual' });
      expect({ path, hsts: res.headers.get('strict-transport-security') }).toEqual({
        path,
        hsts: 'max-age=31536000',
      });
    }
  } finally {
    await tls.stop();
  }
});
