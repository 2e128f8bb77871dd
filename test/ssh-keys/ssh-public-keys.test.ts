/**
 * SSH public keys over real HTTP on a real database: add / list / delete (contract §3), refusals
 * with their messages, duplicates across accounts, expiry, audit events, and the authorized_keys
 * endpoint for sshd with its credentials (shared secret, client_credentials token with the
 * dedicated scope, public mode) and its same-empty-answer for unknown and disabled users.
 */
import { createUser, PASSWORD, startKeyward, type Keyward } from '../helpers/keyward.ts';
import { formField, signedInBrowser, type Browser } from '../helpers/browserless.ts';
import { testClients } from '../helpers/clients.ts';
import {
  CLUSTER_CLIENT_SECRET,
  KeyDir,
  OTHER_CLIENT_SECRET,
  PLATFORM_CLIENT_SECRET,
  clientToken,
  json,
  securityKeyLines,
  sshTestClients,
} from '../helpers/ssh.ts';

const SECRET = 'cluster-shared-secret-7f3a9c1e5b2d8046af';
const kd = new KeyDir();
let k: Keyward;
let alice: Browser;
let bob: Browser;

beforeAll(async () => {
  k = await startKeyward({
    clients: [...testClients, ...sshTestClients],
    sshKeys: { authorizedKeysPublic: false, authorizedKeysSecret: SECRET },
  });
  await createUser(k, 'alice');
  await createUser(k, 'bob');
  alice = await signedInBrowser(k.baseUrl, 'alice', PASSWORD);
  bob = await signedInBrowser(k.baseUrl, 'bob', PASSWORD);
});
afterAll(async () => {
  await k?.stop();
  kd.remove();
});

const add = (b: Browser, body: unknown) =>
  json(b, `${k.baseUrl}/api/ssh-public-keys`, { method: 'POST', body });
async function authorizedKeys(
  user: string,
  headers: Record<string, string> = { authorization: `Bearer ${SECRET}` },
  query = '',
) {
  const res = await fetch(
    `${k.baseUrl}/api/users/${encodeURIComponent(user)}/ssh-public-keys${query}`,
    { headers },
  );
  return {
    status: res.status,
    type: res.headers.get('content-type'),
    text: await res.text(),
    cache: res.headers.get('cache-control'),
  };
}

test('add, list and delete keys; the list shows type, bits, fingerprint; audit events are recorded', async () => {
  const ed = await kd.generate('ed25519', { comment: 'alice@laptop' });
  const created = await add(alice, { title: 'Laptop', key: ed.publicKey });
  expect(created.status).toBe(200);
  expect(created.body).toMatchObject({
    title: 'Laptop',
    type: 'ssh-ed25519',
    bits: 256,
    comment: 'alice@laptop',
    key: ed.publicKey,
    fingerprint: kd.keygenFingerprint(ed.publicKey).fingerprint,
    expiresAt: null,
    expired: false,
    lastUsedAt: null,
  });
  const sk = securityKeyLines().ecdsa;
  const second = await add(alice, { key: sk });
  expect(second.status).toBe(200);
  expect(second.body.title).toBe('yubikey@example'); // the comment when no title is given

  const list = await json(alice, `${k.baseUrl}/api/ssh-public-keys`);
  expect(list.status).toBe(200);
  expect(list.body.map((x) => (x as { title: string }).title)).toEqual([
    'Laptop',
    'yubikey@example',
  ]);
  expect((await json(bob, `${k.baseUrl}/api/ssh-public-keys`)).body).toEqual([]);

  // Stored normalised: type, blob and comment apart; the fingerprint indexed and unique.
  const doc = await k.db.collection('ssh_public_keys').findOne({ _id: created.body.id as never });
  expect(doc).toMatchObject({
    type: 'ssh-ed25519',
    blob: ed.publicKey.split(' ')[1],
    comment: 'alice@laptop',
    usernameLower: 'alice',
  });
  const indexes = await k.db.collection('ssh_public_keys').indexes();
  expect(indexes.find((i) => i.key.fingerprint === 1)?.unique).toBe(true);

  // Bob cannot delete Alice's key; Alice can.
  expect(
    (
      await json(bob, `${k.baseUrl}/api/ssh-public-keys/${String(created.body.id)}`, {
        method: 'DELETE',
      })
    ).status,
  ).toBe(404);
  const del = await alice.fetch(`${k.baseUrl}/api/ssh-public-keys/${String(second.body.id)}`, {
    method: 'DELETE',
    headers: { accept: 'application/json' },
  });
  expect(del.status).toBe(204);
  expect((await json(alice, `${k.baseUrl}/api/ssh-public-keys`)).body).toHaveLength(1);

  const events = await json(alice, `${k.baseUrl}/api/account/events`);
  const types = events.body.map((e) => (e as { type: string }).type);
  expect(types).toEqual(expect.arrayContaining(['ssh-key.created', 'ssh-key.deleted']));
  expect(JSON.stringify(events.body)).not.toContain(ed.publicKey.split(' ')[1]);
});

test('refusals over HTTP: 400 with the message, nothing stored; without a session: 401', async () => {
  const before = await k.db.collection('ssh_public_keys').countDocuments();
  const priv = await kd.generate('ed25519');
  const cases: [unknown, RegExp][] = [
    [{ key: priv.privateKey }, /^This is a private key\. Paste the public key instead/],
    [
      {
        key: `${(await kd.generate('ed25519')).publicKey}\n${(await kd.generate('ecdsa')).publicKey}`,
      },
      /^Paste one key at a time: this text holds 2 keys\.$/,
    ],
    [
      { key: (await kd.generate('rsa', { bits: 1024 })).publicKey },
      /^RSA keys must have at least 2048 bits; this one has 1024\./,
    ],
    [{ key: 'ssh-dss AAAAB3NzaC1kc3MAAACBAP' }, /^DSA keys \(ssh-dss\) are not accepted/],
    [{ key: 'definitely not a key' }, /^This is not an SSH public key/],
    [{ title: 'x' }, /key: is required/],
    [
      { key: (await kd.generate('ed25519')).publicKey, expiresAt: '2001-01-01' },
      /^The expiry date must be in the future\.$/,
    ],
    [
      { key: (await kd.generate('ed25519')).publicKey, expiresAt: 'next tuesday' },
      /expiresAt: must be a date/,
    ],
  ];
  for (const [body, message] of cases) {
    const res = await add(alice, body);
    expect({ status: res.status, code: res.body.code }).toEqual({
      status: 400,
      code: 'validation_failed',
    });
    expect(res.body.message).toMatch(message);
  }
  expect(await k.db.collection('ssh_public_keys').countDocuments()).toBe(before);
  // The pasted private key is nowhere in the database (audit events included).
  const secretPart = priv.privateKey.split('\n')[2];
  for (const name of (await k.db.listCollections().toArray()).map((c) => c.name)) {
    expect(JSON.stringify(await k.db.collection(name).find().toArray())).not.toContain(secretPart);
  }
  const anon = await json(undefined, `${k.baseUrl}/api/ssh-public-keys`, {
    method: 'POST',
    body: { key: (await kd.generate('ed25519')).publicKey },
  });
  expect(anon.status).toBe(401);
});

test('a key registered to any account is refused, without saying whose', async () => {
  const key = (await kd.generate('ecdsa', { bits: 256 })).publicKey;
  expect((await add(alice, { title: 'one', key })).status).toBe(200);
  const again = await add(alice, { title: 'two', key });
  const other = await add(bob, { title: 'mine', key: key.replace(/ \S+$/, ' bob@host') });
  for (const res of [again, other]) {
    expect(res.status).toBe(409);
    expect(res.body.message).toBe(
      'This key is already registered. Each key can be registered only once: generate a new key for this account.',
    );
    expect(JSON.stringify(res.body)).not.toMatch(/alice/i);
  }
});

test('authorized_keys for sshd: valid unexpired keys as text/plain; empty alike for unknown and disabled users', async () => {
  await createUser(k, 'carol');
  const carol = await signedInBrowser(k.baseUrl, 'carol', PASSWORD);
  const a = await kd.generate('ed25519', { comment: 'carol@a' });
  const b = await kd.generate('rsa', { bits: 2048, comment: 'carol@b' });
  const c = await kd.generate('ecdsa', { bits: 521, comment: 'carol@c' });
  expect((await add(carol, { title: 'a', key: a.publicKey })).status).toBe(200);
  expect(
    (
      await add(carol, {
        title: 'b',
        key: b.publicKey,
        expiresAt: new Date(Date.now() + 3600_000).toISOString(),
      })
    ).status,
  ).toBe(200);
  expect(
    (
      await add(carol, {
        title: 'c',
        key: c.publicKey,
        expiresAt: new Date(Date.now() + 3 * 86400_000).toISOString().slice(0, 10),
      })
    ).status,
  ).toBe(200);

  const ok = await authorizedKeys('carol');
  expect(ok).toMatchObject({ status: 200, type: 'text/plain; charset=utf-8', cache: 'no-store' });
  expect(ok.text).toBe(`${a.publicKey}\n${b.publicKey}\n${c.publicKey}\n`);
  expect((await authorizedKeys('CAROL')).text).toBe(ok.text);

  // Two hours later key b has expired: gone from sshd's answer, still listed (marked expired).
  k.clock.offsetMs += 2 * 3600_000;
  try {
    expect((await authorizedKeys('carol')).text).toBe(`${a.publicKey}\n${c.publicKey}\n`);
    const listed = (await json(carol, `${k.baseUrl}/api/ssh-public-keys`)).body as {
      title: string;
      expired: boolean;
    }[];
    expect(listed.map((x) => [x.title, x.expired])).toEqual([
      ['a', false],
      ['b', true],
      ['c', false],
    ]);
  } finally {
    k.clock.offsetMs = 0;
  }

  const unknown = await authorizedKeys('nobody-here');
  const weird = await authorizedKeys('../../etc/passwd');
  await k.container.accounts.setDisabled('carol', true);
  const disabled = await authorizedKeys('carol');
  await k.container.accounts.setDisabled('carol', false);
  for (const r of [unknown, weird, disabled])
    expect(r).toMatchObject({ status: 200, text: '', type: 'text/plain; charset=utf-8' });
  expect((await authorizedKeys('carol')).text).toBe(ok.text);
});

test('adding and deleting need sudo mode: an old sign-in must confirm first (REST: 403, page: to /account/verify)', async () => {
  const key = (await kd.generate('ed25519')).publicKey;
  const page = await alice.fetch(`${k.baseUrl}/account/ssh-keys`);
  const csrf = formField(await page.text(), '_csrf');
  k.clock.offsetMs += 3600_000;
  try {
    const rest = await add(alice, { key });
    expect({ status: rest.status, code: rest.body.code }).toEqual({
      status: 403,
      code: 'sudo_required',
    });
    expect(rest.body.message).toMatch(/before you add an SSH key/);
    const form = await alice.postForm(`${k.baseUrl}/account/ssh-keys`, {
      _csrf: csrf,
      title: 't',
      key,
    });
    expect(form.status).toBe(302);
    expect(form.headers.get('location')).toBe('/account/verify?next=%2Faccount%2Fssh-keys');
  } finally {
    k.clock.offsetMs = 0;
  }
  expect(await k.db.collection('ssh_public_keys').countDocuments({ title: 't' })).toBe(0);
  // The page form works within the window, and a bad CSRF token is refused.
  expect(
    (await alice.postForm(`${k.baseUrl}/account/ssh-keys`, { _csrf: 'forged', title: 't', key }))
      .status,
  ).toBe(403);
  const ok = await alice.postForm(`${k.baseUrl}/account/ssh-keys`, {
    _csrf: csrf,
    title: 't',
    key,
  });
  expect({ status: ok.status, location: ok.headers.get('location') }).toEqual({
    status: 303,
    location: '/account/ssh-keys?done=added',
  });
  const refused = await alice.postForm(`${k.baseUrl}/account/ssh-keys`, {
    _csrf: csrf,
    title: 't2',
    key: 'nonsense',
  });
  expect(refused.status).toBe(400);
  expect(await refused.text()).toMatch(/role="alert">This is not an SSH public key/);
});

test('the OpenAPI document describes the SSH key routes', async () => {
  const doc = (await (await fetch(`${k.baseUrl}/api/openapi.json`)).json()) as {
    paths: Record<string, Record<string, unknown>>;
  };
  for (const path of [
    '/api/ssh-public-keys',
    '/api/ssh-public-keys/{id}',
    '/api/users/{username}/ssh-public-keys',
    '/api/ssh-private-keys',
    '/api/ssh-private-keys/{name}',
    '/api/organizations/{org}/users/{user}/ssh-private-keys',
    '/api/platform/users/{username}/ssh-private-keys/{name}/sign',
  ])
    expect(doc.paths[path]).toBeDefined();
  expect(JSON.stringify(doc.paths['/api/ssh-private-keys'])).not.toMatch(/sealed/);
  // Dates travel as ISO 8601 strings, and the document says so.
  const listed = doc.paths['/api/ssh-public-keys'] as {
    get: { responses: Record<string, { content: Record<string, { schema: unknown }> }> };
  };
  const item = JSON.stringify(listed.get.responses['200'].content['application/json'].schema);
  expect(item).toMatch(/"createdAt":\{"type":"string","format":"date-time"\}/);
  expect(item).not.toMatch(/:\{\}/);
});

test('sshd lookups record last use when sshd passes the fingerprint (%f)', async () => {
  await createUser(k, 'dave');
  const dave = await signedInBrowser(k.baseUrl, 'dave', PASSWORD);
  const key = await kd.generate('ed25519');
  const created = await add(dave, { title: 'd', key: key.publicKey });
  const fp = String(created.body.fingerprint);
  expect((await authorizedKeys('dave', {}, `?fingerprint=${encodeURIComponent(fp)}`)).status).toBe(
    401,
  );
  await authorizedKeys(
    'dave',
    { authorization: `Bearer ${SECRET}` },
    `?fingerprint=${encodeURIComponent(fp)}`,
  );
  const [listed] = (await json(dave, `${k.baseUrl}/api/ssh-public-keys`)).body as {
    lastUsedAt: string | null;
  }[];
  expect(listed.lastUsedAt).not.toBeNull();
});

test('the endpoint needs the shared secret or a token with the dedicated scope of a client registered for it', async () => {
  const noCredential = await authorizedKeys('alice', {});
  expect(noCredential.status).toBe(401);
  expect(JSON.parse(noCredential.text)).toMatchObject({ error: true, code: 'unauthenticated' });
  expect((await authorizedKeys('alice', { authorization: 'Bearer wrong-secret' })).status).toBe(
    401,
  );
  expect(
    (
      await authorizedKeys('alice', {
        authorization: `Basic ${Buffer.from(`${SECRET}:`).toString('base64')}`,
      })
    ).status,
  ).toBe(401);

  const token = await clientToken(
    k.issuer,
    'test-cluster',
    CLUSTER_CLIENT_SECRET,
    'ssh-authorized-keys',
  );
  const withToken = await authorizedKeys('alice', { authorization: `Bearer ${token}` });
  expect(withToken.status).toBe(200);
  expect(withToken.text).toBe((await authorizedKeys('alice')).text);

  // A client not registered for the scope cannot get it, and its other tokens do not work here.
  await expect(
    clientToken(k.issuer, 'test-other', OTHER_CLIENT_SECRET, 'ssh-authorized-keys'),
  ).rejects.toThrow(/invalid_scope/);
  const otherScope = await clientToken(k.issuer, 'test-other', OTHER_CLIENT_SECRET, 'profile');
  const refused = await authorizedKeys('alice', { authorization: `Bearer ${otherScope}` });
  expect(refused.status).toBe(403);
  expect(JSON.parse(refused.text).message).toBe(
    'The access token does not carry the "ssh-authorized-keys" scope of a client registered for it.',
  );
  // Nor does a platform token for other SSH scopes.
  const platform = await clientToken(
    k.issuer,
    'test-platform',
    PLATFORM_CLIENT_SECRET,
    'ssh-private-keys:sign',
  );
  expect((await authorizedKeys('alice', { authorization: `Bearer ${platform}` })).status).toBe(403);
});

test('public mode serves the lines without a credential; production refuses a weak secret', async () => {
  const open = await startKeyward({ sshKeys: { authorizedKeysPublic: true } });
  try {
    const account = await createUser(open, 'erin');
    const key = await kd.generate('ed25519');
    const parsed = (await import('../../src/platform/ssh/ssh-key-parser.ts')).parsePublicKey(
      key.publicKey,
    );
    await open.db.collection('ssh_public_keys').insertOne({
      _id: 'k1' as never,
      ownerId: account.id,
      usernameLower: 'erin',
      title: 't',
      type: parsed.type,
      blob: parsed.blob.toString('base64'),
      comment: '',
      bits: parsed.bits,
      fingerprint: parsed.fingerprint,
      createdAt: new Date(),
    });
    const res = await fetch(`${open.baseUrl}/api/users/erin/ssh-public-keys`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe(`${key.publicKey.split(' ').slice(0, 2).join(' ')}\n`);
  } finally {
    await open.stop();
  }
  const { loadConfig } = await import('../../src/platform/config/load-config.ts');
  expect(() =>
    loadConfig({ NODE_ENV: 'production', KEYWARD_AUTHORIZED_KEYS_SECRET: 'short-but-16-chars!' }),
  ).toThrow(/KEYWARD_AUTHORIZED_KEYS_SECRET is weak/);
});

test('latency of the sshd lookup (informational; the 401 path, which reads nothing, as the baseline)', async () => {
  async function measure(
    user: string,
    headers: Record<string, string> | undefined,
    status: number,
  ) {
    const n = 300;
    const times: number[] = [];
    for (let i = 0; i < n; i++) {
      const t = performance.now();
      const r = await authorizedKeys(user, headers);
      times.push(performance.now() - t);
      expect(r.status).toBe(status);
    }
    times.sort((x, y) => x - y);
    return { p50: times[Math.floor(n * 0.5)], p99: times[Math.floor(n * 0.99)] };
  }
  await measure('alice', undefined, 200); // warm-up
  const baseline = await measure('alice', {}, 401);
  const lookup = await measure('alice', undefined, 200);
  const unknown = await measure('nobody-here', undefined, 200);
  const fmt = (m: { p50: number; p99: number }) =>
    `p50 ${m.p50.toFixed(2)} ms, p99 ${m.p99.toFixed(2)} ms`;
  process.stdout.write(
    `authorized_keys over HTTP (300 sequential requests each): 401 baseline ${fmt(baseline)}; user with keys ${fmt(lookup)}; unknown user ${fmt(unknown)}\n`,
  );
  expect(lookup.p50).toBeLessThan(50);
});
