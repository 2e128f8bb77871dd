/**
 * Readiness while the database goes away and comes back: Keyward runs on its own FerretDB, which
 * the test stops and restarts. Liveness stays up throughout; readiness and every page that needs
 * the database answer a clear 503 (never a 500 or a stack trace) while it is away; both recover
 * by themselves once it is back.
 */
import { startKeyward, type Keyward } from '../helpers/keyward.ts';
import {
  startDisposableFerretDb,
  type DisposableFerretDb,
} from '../helpers/disposable-ferretdb.ts';

let fdb: DisposableFerretDb | undefined;
let k: Keyward | undefined;

beforeAll(async () => {
  fdb = await startDisposableFerretDb();
  k = await startKeyward({}, { mongoBase: fdb.uri });
}, 60_000);

afterAll(async () => {
  // Bring the database back so stop() can drop the test database and close cleanly.
  await fdb?.start().catch(() => undefined);
  await k?.stop().catch(() => undefined);
  await fdb?.dispose();
}, 60_000);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function get(path: string, accept = 'application/json') {
  const res = await fetch(`${k!.baseUrl}${path}`, {
    headers: { accept },
    redirect: 'manual',
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  return {
    status: res.status,
    headers: res.headers,
    text,
    json: () => JSON.parse(text) as Record<string, unknown>,
  };
}

/** Polls `probe` until it returns true; fails with the last observation after `timeoutMs`. */
async function waitFor(
  what: string,
  timeoutMs: number,
  probe: () => Promise<{ ok: boolean; seen: string }>,
) {
  const deadline = Date.now() + timeoutMs;
  let seen = '';
  while (Date.now() < deadline) {
    try {
      const r = await probe();
      if (r.ok) return;
      seen = r.seen;
    } catch (err) {
      seen = String(err);
    }
    await sleep(250);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last seen: ${seen}`);
}

/** An authorization request for the default first-party web client (the interaction is stored in the database). */
function authorizePath(): string {
  const q = new URLSearchParams({
    client_id: 'pw-web',
    response_type: 'code',
    scope: 'openid profile',
    redirect_uri: 'http://localhost:8080/auth/callback',
    state: 'state-12345678',
    code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
    code_challenge_method: 'S256',
  });
  return `/api/oidc/authorize?${q}`;
}

function expectNoStackTrace(text: string) {
  expect(text).not.toMatch(/\n\s+at /);
  expect(text).not.toMatch(/Mongo\w*Error|MongooseServerSelectionError|ECONNREFUSED/);
}

test('readiness follows the database down and back up; liveness stays up; pages answer 503, not 500', async () => {
  // Up.
  const health = await get('/healthz');
  expect(health.status).toBe(200);
  expect(health.json()).toEqual({ status: 'ok' });
  const ready = await get('/readyz');
  expect(ready.status).toBe(200);
  expect(ready.json()).toMatchObject({ status: 'ready' });

  const before = await get(authorizePath(), 'text/html');
  expect(before.status).toBe(303);
  expect(before.headers.get('location')).toMatch(/\/interaction\//);

  // Down.
  await fdb!.stop();
  let down: Record<string, unknown> = {};
  let downHeaders: Headers | undefined;
  await waitFor('/readyz to answer 503', 15_000, async () => {
    const r = await get('/readyz');
    if (r.status === 503) {
      down = r.json();
      downHeaders = r.headers;
    }
    return { ok: r.status === 503, seen: `${r.status} ${r.text.slice(0, 200)}` };
  });
  expect(down).toMatchObject({ error: true, code: 'unavailable' });
  expect(typeof down.message).toBe('string');
  expect(down.message).toMatch(/database/i);
  expect(downHeaders?.get('retry-after')).toBe('5');

  const healthWhileDown = await get('/healthz');
  expect(healthWhileDown.status).toBe(200);
  expect(healthWhileDown.json()).toEqual({ status: 'ok' });

  // Pages that need the database: a clear 503, for browsers and for API clients.
  // (The gate may take a heartbeat longer than /readyz to notice; give it a few seconds.)
  await waitFor('the home page to answer 503', 10_000, async () => {
    const r = await get('/', 'text/html');
    return { ok: r.status === 503, seen: `${r.status} ${r.text.slice(0, 200)}` };
  });
  const home = await get('/', 'text/html');
  expect(home.status).toBe(503);
  expect(home.headers.get('content-type')).toMatch(/text\/html/);
  expect(home.text).toMatch(/database is unreachable/i);
  expectNoStackTrace(home.text);

  const authorizeHtml = await get(authorizePath(), 'text/html');
  expect(authorizeHtml.status).toBe(503);
  expect(authorizeHtml.text).toMatch(/database is unreachable/i);
  expectNoStackTrace(authorizeHtml.text);

  const authorizeJson = await get(authorizePath(), 'application/json');
  expect(authorizeJson.status).toBe(503);
  expect(authorizeJson.json()).toMatchObject({ error: true, code: 'unavailable' });
  expectNoStackTrace(authorizeJson.text);

  const interaction = await get(
    before.headers.get('location')!.replace(/^https?:\/\/[^/]+/, ''),
    'text/html',
  );
  expect(interaction.status).toBe(503);
  expectNoStackTrace(interaction.text);

  // Back up.
  await fdb!.start();
  await waitFor('/readyz to answer 200 again', 30_000, async () => {
    const r = await get('/readyz');
    return { ok: r.status === 200, seen: `${r.status} ${r.text.slice(0, 200)}` };
  });
  expect((await get('/readyz')).json()).toMatchObject({ status: 'ready' });

  await waitFor('the home page to answer 200 again', 15_000, async () => {
    const r = await get('/', 'text/html');
    return { ok: r.status === 200, seen: `${r.status} ${r.text.slice(0, 200)}` };
  });

  // A request that writes to and reads from the database works again: a new authorization
  // request stores an interaction, and its sign-in page loads it.
  const after = await get(authorizePath(), 'text/html');
  expect(after.status).toBe(303);
  const location = after.headers.get('location')!;
  expect(location).toMatch(/\/interaction\//);
  const cookie = after.headers
    .getSetCookie()
    .map((c) => c.split(';')[0])
    .join('; ');
  const page = await fetch(new URL(location, k!.baseUrl), {
    headers: { accept: 'text/html', cookie },
    redirect: 'manual',
  });
  expect(page.status).toBe(200);
  expect(await page.text()).toMatch(/<form/i);
}, 90_000);
