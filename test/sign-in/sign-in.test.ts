/**
 * The sign-in interaction over real HTTP: no user enumeration, throttling with progressive
 * delays (and no lockout forever), disabled accounts, expired interactions, CSRF, consent.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Browser, formAction, formField } from '../helpers/browserless.ts';
import { createUser, PASSWORD, startKeyward, type Keyward } from '../helpers/keyward.ts';
import { clientIp } from '../helpers/client-ip.ts';
import { RP_CALLBACK, testClients } from '../helpers/clients.ts';

let k: Keyward;
const ip = clientIp;

beforeAll(async () => {
  k = await startKeyward({
    clients: testClients,
    trustProxy: true,
    throttle: {
      account: {
        freeAttempts: 3,
        baseDelaySeconds: 60,
        maxDelaySeconds: 120,
        maxConsecutiveFailures: 6,
        lockSeconds: 3600,
        resetAfterSeconds: 86400,
      },
      ip: {
        freeAttempts: 8,
        baseDelaySeconds: 60,
        maxDelaySeconds: 600,
        maxConsecutiveFailures: 1000,
        lockSeconds: 3600,
        resetAfterSeconds: 3600,
      },
    },
  });
  await createUser(k, 'carol');
  await createUser(k, 'dave');
  await createUser(k, 'erin');
  await createUser(k, 'frank');
  await createUser(k, 'mallory');
  await k.container.accounts.setDisabled('mallory', true);
});
afterAll(async () => k?.stop());

/** Opens a sign-in page for the first-party web client; answers the page and a submit function. */
async function openSignIn(clientId = 'test-web', fromIp = ip()) {
  const browser = new Browser();
  const headers = { 'x-forwarded-for': fromIp };
  const verifier = randomBytes(32).toString('base64url');
  const url = new URL(`${k.issuer}/authorize`);
  url.search = new URLSearchParams({
    client_id: clientId,
    response_type: 'code',
    scope: 'openid profile',
    redirect_uri: RP_CALLBACK,
    state: 's1',
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
  }).toString();
  const { res, url: pageUrl } = await browser.follow(url.toString(), undefined, { headers });
  const html = await res.text();
  expect(res.status).toBe(200);
  const action = new URL(formAction(html, '/login'), pageUrl).toString();
  const csrf = formField(html, '_csrf');
  const submit = async (username: string, password: string, token = csrf) => {
    const r = await browser.fetch(action, {
      method: 'POST',
      body: new URLSearchParams({ _csrf: token, username, password }),
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': fromIp },
    });
    return { status: r.status, html: await r.text(), headers: r.headers };
  };
  return { browser, html, pageUrl, action, submit };
}

const normalise = (html: string) =>
  html
    .replace(/name="_csrf" value="[^"]*"/g, '')
    .replace(/data-csrf="[^"]*"/g, '')
    .replace(/\/interaction\/[^/"]+/g, '/interaction/UID')
    .replace(/value="[^"]*" autocomplete="username"/, '');

test('unknown user and wrong password get the same answer in similar time', async () => {
  const wrong = await openSignIn();
  const unknown = await openSignIn();
  const times: Record<string, number[]> = { wrong: [], unknown: [] };
  let a = { status: 0, html: '' };
  let b = { status: 0, html: '' };
  for (let i = 0; i < 3; i++) {
    let t = performance.now();
    a = await wrong.submit('erin', `not the password ${i}`);
    times.wrong.push(performance.now() - t);
    t = performance.now();
    b = await unknown.submit('nobody-here', `not the password ${i}`);
    times.unknown.push(performance.now() - t);
  }
  expect(a.status).toBe(401);
  expect(b.status).toBe(401);
  expect(a.html).toContain('Invalid username or password.');
  expect(normalise(a.html)).toBe(normalise(b.html));
  const median = (xs: number[]) => xs.sort((x, y) => x - y)[1];
  const ratio = median(times.unknown) / median(times.wrong);
  expect(ratio).toBeGreaterThan(0.5); // both verify an argon2id hash
  expect(ratio).toBeLessThan(2);
  await k.container.accounts.setPassword('erin', PASSWORD); // clears nothing but proves the account still works
});

test('failed sign-ins are throttled per account with progressive delays, never forever', async () => {
  const { submit } = await openSignIn();
  for (let i = 0; i < 3; i++)
    expect((await submit('carol', 'wrong password wrong')).status).toBe(401);
  const blocked = await submit('carol', PASSWORD); // even the right password waits
  expect(blocked.status).toBe(429);
  expect(blocked.html).toMatch(/Too many failed sign-in attempts\. Try again in \d+ seconds?\./);
  expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0);

  // Each further failure doubles the wait up to the cap; after maxConsecutiveFailures the account
  // stops accepting for lockSeconds — and accepts again afterwards.
  for (let i = 0; i < 3; i++) {
    k.clock.offsetMs += 130_000;
    expect((await submit('carol', 'wrong password wrong')).status).toBe(401);
  }
  k.clock.offsetMs += 130_000;
  const locked = await submit('carol', PASSWORD);
  expect(locked.status).toBe(429);
  expect(locked.html).toMatch(/Try again in (5[0-9]|60) minutes/);
  k.clock.offsetMs += 3600_000;
  const { submit: again } = await openSignIn();
  expect((await again('carol', PASSWORD)).status).toBe(303);
});

test('failed sign-ins are throttled per IP across accounts', async () => {
  const from = ip();
  const { submit } = await openSignIn('test-web', from);
  for (let i = 0; i < 8; i++)
    expect((await submit(`ghost${i}`, 'wrong password wrong')).status).toBe(401);
  expect((await submit('frank', PASSWORD)).status).toBe(429);
  const elsewhere = await openSignIn('test-web', ip());
  expect((await elsewhere.submit('frank', PASSWORD)).status).toBe(303);
});

test('a disabled account cannot sign in', async () => {
  const { submit } = await openSignIn();
  const res = await submit('mallory', PASSWORD);
  expect(res.status).toBe(403);
  expect(res.html).toContain('This account is disabled');
});

test('email works as the login, case-insensitively for usernames too', async () => {
  expect((await (await openSignIn()).submit('DAVE@example.com', PASSWORD)).status).toBe(303);
  expect((await (await openSignIn()).submit('Dave', PASSWORD)).status).toBe(303);
});

test('a form without the right CSRF token is refused', async () => {
  const first = await openSignIn();
  const other = await openSignIn();
  expect((await first.submit('dave', PASSWORD, 'forged')).status).toBe(403);
  const crossed = await first.submit('dave', PASSWORD, formField(other.html, '_csrf'));
  expect(crossed.status).toBe(403);
  expect(crossed.html).toContain('did not come from this site');
  expect((await first.submit('dave', PASSWORD)).status).toBe(303);
});

test('an expired interaction shows a clear page, not a 500', async () => {
  const { browser, pageUrl, submit } = await openSignIn();
  k.clock.offsetMs += 2 * 3600_000;
  const page = await browser.fetch(pageUrl);
  expect(page.status).toBe(410);
  expect(await page.text()).toContain('This sign-in page has expired');
  const posted = await submit('dave', PASSWORD);
  expect(posted.status).toBe(410);
  const unknown = await browser.fetch(`${k.baseUrl}/interaction/does-not-exist`);
  expect(unknown.status).toBe(410);
});

test('a third-party client gets a consent screen; a first-party one does not', async () => {
  const { browser, submit } = await openSignIn('test-third');
  const signedIn = await submit('dave', PASSWORD);
  expect(signedIn.status).toBe(303);
  const { res, url } = await browser.follow(
    new URL(signedIn.headers.get('location')!, k.baseUrl).toString(),
    (u) => u.startsWith(RP_CALLBACK),
  );
  const html = await res.text();
  expect(url).toContain('/interaction/');
  expect(html).toContain('Allow access?');
  expect(html).toContain('Third Party App');
  expect(html).toContain('Read your name and username');
  const allowed = await browser.postForm(new URL(formAction(html, '/consent'), url).toString(), {
    _csrf: formField(html, '_csrf'),
  });
  expect(allowed.status).toBe(303);
  const done = await browser.follow(
    new URL(allowed.headers.get('location')!, url).toString(),
    (u) => u.startsWith(RP_CALLBACK),
  );
  expect(new URL(done.url).searchParams.get('code')).toBeTruthy();
});

test('cancelling the sign-in returns access_denied to the client', async () => {
  const { browser, html, pageUrl } = await openSignIn();
  const res = await browser.postForm(new URL(formAction(html, '/abort'), pageUrl).toString(), {
    _csrf: formField(html, '_csrf'),
  });
  const done = await browser.follow(
    new URL(res.headers.get('location')!, pageUrl).toString(),
    (u) => u.startsWith(RP_CALLBACK),
  );
  expect(new URL(done.url).searchParams.get('error')).toBe('access_denied');
});
