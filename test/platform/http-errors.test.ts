/** Errors are 4xx with a message in the ACTIVATE envelope (or problem+json), never a 500 or a stack. */
import request from 'supertest';
import { startKeyward, type Keyward } from '../helpers/keyward.ts';

let k: Keyward;
beforeAll(async () => {
  k = await startKeyward({ bodyLimitBytes: 2048 });
});
afterAll(async () => k?.stop());

const api = () => request(k.server);

test('unknown API route: 404 in the error envelope', async () => {
  const res = await api().get('/api/nothing-here').set('accept', 'application/json');
  expect(res.status).toBe(404);
  expect(res.body).toEqual({
    error: true,
    message: 'No route for GET /api/nothing-here.',
    code: 'not_found',
    errors: null,
    params: {},
  });
});

test('unknown page for a browser: a 404 page in words, with a way back', async () => {
  const res = await api().get('/no/such/page').set('accept', 'text/html');
  expect(res.status).toBe(404);
  expect(res.type).toBe('text/html');
  expect(res.text).toContain('<h1>Page not found</h1>');
  expect(res.text).toContain('There is no page at this address.');
  expect(res.text).not.toContain('No route for');
  expect(res.text).toContain('<a class="button primary" href="/account">Go to your account</a>');
  expect(res.text).toContain('<a class="button secondary" href="/">Home</a>');
});

test('problem+json when the client asks for it (RFC 9457)', async () => {
  const res = await api().get('/api/nothing-here').set('accept', 'application/problem+json');
  expect(res.status).toBe(404);
  expect(res.type).toBe('application/problem+json');
  expect(JSON.parse(res.text)).toMatchObject({
    status: 404,
    code: 'not_found',
    type: `${k.baseUrl}/problems/not_found`,
    instance: '/api/nothing-here',
  });
});

test('malformed JSON: 400 invalid_json', async () => {
  const res = await api()
    .post('/api/anything')
    .set('content-type', 'application/json')
    .send('{"a":');
  expect(res.status).toBe(400);
  expect(res.body).toMatchObject({
    error: true,
    code: 'invalid_json',
    message: 'The request body is not valid JSON.',
  });
});

test('oversize body: 413', async () => {
  const res = await api()
    .post('/api/anything')
    .set('content-type', 'application/json')
    .send(JSON.stringify({ a: 'x'.repeat(5000) }));
  expect(res.status).toBe(413);
  expect(res.body).toMatchObject({ error: true, code: 'payload_too_large' });
});

test('wrong method on a known route: 405 with Allow', async () => {
  const res = await api().delete('/healthz');
  expect(res.status).toBe(405);
  expect(res.body.code).toBe('method_not_allowed');
});

test('unknown HTTP methods (e.g. TRACE) are 405, not 500', async () => {
  const res = await api().trace('/api/auth/whoami');
  expect(res.status).toBe(405);
  expect(res.body.code).toBe('method_not_allowed');
});

test('request ids are echoed, and hostile ones replaced', async () => {
  expect(
    (await api().get('/healthz').set('x-request-id', 'abcd1234-req')).headers['x-request-id'],
  ).toBe('abcd1234-req');
  expect(
    (await api().get('/healthz').set('x-request-id', 'bad id <script>')).headers['x-request-id'],
  ).toMatch(/^[0-9a-f-]{36}$/);
});

test('pages carry hardening headers', async () => {
  const res = await api().get('/');
  expect(res.headers['content-security-policy']).toContain("frame-ancestors 'none'");
  expect(res.headers['x-content-type-options']).toBe('nosniff');
  expect(res.headers['x-frame-options']).toBe('DENY');
});

test('the OpenAPI 3.1 document describes the routes and the error envelope', async () => {
  const res = await api().get('/api/openapi.json');
  expect(res.status).toBe(200);
  expect(res.body.openapi).toBe('3.1.0');
  expect(Object.keys(res.body.paths)).toEqual(
    expect.arrayContaining(['/healthz', '/readyz', '/api/openapi.json']),
  );
  expect(res.body.components.schemas.Error.required).toEqual(
    expect.arrayContaining(['error', 'message', 'code']),
  );
  expect(
    res.body.paths['/readyz'].get.responses.default.content['application/json'].schema.$ref,
  ).toBe('#/components/schemas/Error');
});

test('OIDC protocol errors are OAuth errors, not 500s', async () => {
  const token = await api()
    .post('/api/oidc/token')
    .type('form')
    .send({
      grant_type: 'authorization_code',
      code: 'nope',
      client_id: 'pw-cli',
      redirect_uri: 'http://127.0.0.1/callback',
      code_verifier: 'x'.repeat(43),
    });
  expect(token.status).toBe(400);
  expect(token.body.error).toBe('invalid_grant');
  const auth = await api().get(
    '/api/oidc/authorize?client_id=unknown&response_type=code&scope=openid',
  );
  expect(auth.status).toBe(400);
  expect(auth.text).toContain('The application is not registered with Keyward.');
  expect(auth.text).not.toMatch(/\n\s+at /);
});
