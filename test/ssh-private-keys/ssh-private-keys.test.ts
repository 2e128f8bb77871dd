/**
 * SSH private keys kept for the platform, over real HTTP on a real database: stored only as sealed
 * envelopes (no PEM, no key bytes in any document), never returned to users, bound to their record
 * (tampered or moved ciphertexts fail), usable by a platform client with the dedicated scope —
 * signatures verified by sshpk and by `ssh-keygen -Y verify` — and every use audited.
 */
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import sshpk from 'sshpk';
import { createUser, PASSWORD, startKeyward, type Keyward } from '../helpers/keyward.ts';
import { Browser, signedInBrowser, signIn } from '../helpers/browserless.ts';
import { RP_CALLBACK, WEB_SECRET, testClients } from '../helpers/clients.ts';
import { sealAad } from '../../src/features/ssh-private-keys/ssh-private-key-service.ts';
import {
  KeyDir,
  PLATFORM_CLIENT_SECRET,
  clientToken,
  json,
  sshTestClients,
} from '../helpers/ssh.ts';

const kd = new KeyDir();
let k: Keyward;
let alice: Browser;
let signToken: string;
let readToken: string;

beforeAll(async () => {
  k = await startKeyward({ clients: [...testClients, ...sshTestClients] });
  await createUser(k, 'alice', { org: 'acme' });
  await createUser(k, 'olga', { org: 'acme', admin: true });
  await createUser(k, 'bob', { org: 'acme' });
  await createUser(k, 'mallory', { org: 'elsewhere' });
  alice = await signedInBrowser(k.baseUrl, 'alice', PASSWORD);
  signToken = await clientToken(
    k.issuer,
    'test-platform',
    PLATFORM_CLIENT_SECRET,
    'ssh-private-keys:sign',
  );
  readToken = await clientToken(
    k.issuer,
    'test-platform',
    PLATFORM_CLIENT_SECRET,
    'ssh-private-keys:read',
  );
});
afterAll(async () => {
  await k?.stop();
  kd.remove();
});

const create = (b: Browser, body: unknown) =>
  json(b, `${k.baseUrl}/api/ssh-private-keys`, { method: 'POST', body });
const sign = (user: string, name: string, body: unknown, token = signToken) =>
  json(undefined, `${k.baseUrl}/api/platform/users/${user}/ssh-private-keys/${name}/sign`, {
    method: 'POST',
    body,
    headers: { authorization: `Bearer ${token}` },
  });
const retrieve = (user: string, name: string, token = readToken) =>
  json(undefined, `${k.baseUrl}/api/platform/users/${user}/ssh-private-keys/${name}`, {
    headers: { authorization: `Bearer ${token}` },
  });

/** Every stored document, as text: to prove secrets appear nowhere. */
async function everything(): Promise<string> {
  const parts: string[] = [];
  for (const { name } of await k.db.listCollections().toArray())
    parts.push(JSON.stringify(await k.db.collection(name).find().toArray()));
  return parts.join('\n');
}

/** Private numbers of a key, in the encodings they could be stored in. */
function secretForms(privateKey: string, passphrase?: string): string[] {
  const key = sshpk.parsePrivateKey(
    privateKey,
    'auto',
    passphrase ? { passphrase } : {},
  ) as unknown as { part: Record<string, { data: Buffer }> };
  const secret = (key.part.k ?? key.part.d).data.subarray(-32);
  return [
    secret.toString('base64'),
    secret.toString('hex'),
    secret.toString('base64url'),
    Buffer.from(privateKey.split('\n')[2] ?? '').toString(),
  ];
}

test('stored sealed: responses and documents hold no PEM and no key bytes; a passphrase is asked for once', async () => {
  const ed = await kd.generate('ed25519');
  const created = await create(alice, {
    name: 'hpc-archive',
    description: 'Archive cluster',
    privateKey: ed.privateKey,
  });
  expect(created.status).toBe(201);
  expect(created.body).toMatchObject({
    name: 'hpc-archive',
    description: 'Archive cluster',
    keyType: 'ssh-ed25519',
    bits: 256,
    fingerprint: kd.keygenFingerprint(ed.publicKey).fingerprint,
    publicKey: ed.publicKey.split(' ').slice(0, 2).join(' '),
  });
  expect(Object.keys(created.body).sort()).toEqual([
    'bits',
    'createdAt',
    'description',
    'fingerprint',
    'keyType',
    'lastUsedAt',
    'name',
    'publicKey',
  ]);

  const rsa = await kd.generate('rsa', {
    bits: 3072,
    format: 'PKCS8',
    passphrase: 'open sesame please',
  });
  const noPass = await create(alice, { name: 'rsa-key', privateKey: rsa.privateKey });
  expect({ status: noPass.status, message: noPass.body.message }).toEqual({
    status: 400,
    message: expect.stringMatching(
      /^This private key is protected by a passphrase\. Enter the passphrase/,
    ),
  });
  expect(
    (await create(alice, { name: 'rsa-key', privateKey: rsa.privateKey, passphrase: 'nope' })).body
      .message,
  ).toBe('The passphrase is not correct for this private key.');
  expect(
    (
      await create(alice, {
        name: 'rsa-key',
        privateKey: rsa.privateKey,
        passphrase: 'open sesame please',
      })
    ).status,
  ).toBe(201);
  expect(
    (
      await create(alice, {
        name: 'ec-key',
        privateKey: (await kd.generate('ecdsa', { bits: 384 })).privateKey,
      })
    ).status,
  ).toBe(201);

  expect(
    (
      await create(alice, {
        name: 'HPC-Archive',
        privateKey: (await kd.generate('ed25519')).privateKey,
      })
    ).status,
  ).toBe(409);
  expect(
    (await create(alice, { name: 'bad name!', privateKey: ed.privateKey })).body.message,
  ).toMatch(/^Name must be 1–64 letters/);
  expect((await create(alice, { name: 'pub', privateKey: ed.publicKey })).body.message).toMatch(
    /^This is a public key/,
  );

  const list = await json(alice, `${k.baseUrl}/api/ssh-private-keys`);
  expect(list.body.map((x) => (x as { name: string }).name)).toEqual([
    'hpc-archive',
    'rsa-key',
    'ec-key',
  ]);
  const stored = await everything();
  for (const text of [JSON.stringify(list.body), JSON.stringify(created.body), stored]) {
    expect(text).not.toMatch(/PRIVATE KEY|b3BlbnNzaC1rZXktdjE|open sesame/);
    for (const form of [
      ...secretForms(ed.privateKey),
      ...secretForms(rsa.privateKey, 'open sesame please'),
    ])
      expect(text).not.toContain(form);
  }
  const doc = await k.db.collection('ssh_private_keys').findOne({ name: 'hpc-archive' });
  expect(doc!.sealed).toEqual({
    v: 1,
    kek: '1',
    wk: expect.any(String),
    iv: expect.any(String),
    ct: expect.any(String),
    tag: expect.any(String),
  });
});

test('the platform signs (agent format and SSHSIG) and the signatures verify against the public half', async () => {
  const data = randomBytes(100);
  const res = await sign('alice', 'hpc-archive', { data: data.toString('base64') });
  expect(res.status).toBe(200);
  expect(res.body).toMatchObject({ format: 'ssh', algorithm: 'ssh-ed25519' });
  const pub = sshpk.parseKey(String(res.body.publicKey), 'ssh');
  const verifier = pub.createVerify();
  verifier.update(data);
  expect(
    verifier.verify(
      sshpk.parseSignature(Buffer.from(String(res.body.signature), 'base64'), 'ed25519', 'ssh'),
    ),
  ).toBe(true);

  for (const name of ['rsa-key', 'ec-key']) {
    const out = await sign('alice', name, {
      data: data.toString('base64'),
      format: 'sshsig',
      namespace: 'file',
    });
    expect(out.status).toBe(200);
    const signature = kd.write(`${name}.sig`, String(out.body.signature));
    const allowed = kd.write(`${name}.allowed`, `alice@acme ${String(out.body.publicKey)}\n`);
    const verified = execFileSync(
      'ssh-keygen',
      ['-Y', 'verify', '-f', allowed, '-I', 'alice@acme', '-n', 'file', '-s', signature],
      { input: data },
    ).toString();
    expect(verified).toContain(`Good "file" signature for alice@acme`);
    expect(() =>
      execFileSync(
        'ssh-keygen',
        ['-Y', 'verify', '-f', allowed, '-I', 'alice@acme', '-n', 'file', '-s', signature],
        { input: Buffer.from('other data'), stdio: 'pipe' },
      ),
    ).toThrow();
  }
  const rsaAgent = await sign('alice', 'rsa-key', {
    data: data.toString('base64'),
    rsaHash: 'sha256',
  });
  expect(rsaAgent.body.algorithm).toBe('rsa-sha2-256');
  expect((await sign('alice', 'rsa-key', { data: 'not base64!' })).status).toBe(400);
  expect((await sign('alice', 'rsa-key', { data: 'AAAA', format: 'sshsig' })).body.message).toMatch(
    /namespace: is required/,
  );
});

test('the platform retrieves the decrypted key only with the read scope', async () => {
  const got = await retrieve('alice', 'ec-key');
  expect(got.status).toBe(200);
  const file = kd.write('retrieved', String(got.body.privateKey));
  expect(
    execFileSync('ssh-keygen', ['-y', '-f', file])
      .toString()
      .trim()
      .split(' ')
      .slice(0, 2)
      .join(' '),
  ).toBe(got.body.publicKey);
  expect((await retrieve('alice', 'ec-key', signToken)).status).toBe(403);
  const signerOnly = await clientToken(
    k.issuer,
    'test-platform-signer',
    PLATFORM_CLIENT_SECRET,
    'ssh-private-keys:sign',
  );
  expect((await sign('alice', 'ec-key', { data: 'AAAA' }, signerOnly)).status).toBe(200);
  await expect(
    clientToken(k.issuer, 'test-platform-signer', PLATFORM_CLIENT_SECRET, 'ssh-private-keys:read'),
  ).rejects.toThrow(/invalid_scope/);
  expect((await retrieve('alice', 'no-such-key')).status).toBe(404);
  expect((await retrieve('nobody', 'ec-key')).status).toBe(404);
});

test('users cannot read or sign: not with their session, not with their OAuth access token', async () => {
  const session = await json(
    alice,
    `${k.baseUrl}/api/platform/users/alice/ssh-private-keys/ec-key/sign`,
    { method: 'POST', body: { data: 'AAAA' } },
  );
  expect(session.status).toBe(401);
  expect(
    (await json(alice, `${k.baseUrl}/api/platform/users/alice/ssh-private-keys/ec-key`)).status,
  ).toBe(401);

  const verifier = randomBytes(32).toString('base64url');
  const url = new URL(`${k.issuer}/authorize`);
  url.search = new URLSearchParams({
    client_id: 'test-web',
    response_type: 'code',
    scope: 'openid profile',
    redirect_uri: RP_CALLBACK,
    state: 's',
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
  }).toString();
  const callback = new URL(
    await signIn(new Browser(), url.toString(), 'alice', PASSWORD, RP_CALLBACK),
  );
  const tokenRes = await fetch(`${k.issuer}/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`test-web:${WEB_SECRET}`).toString('base64')}` },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code: callback.searchParams.get('code')!,
      redirect_uri: RP_CALLBACK,
      code_verifier: verifier,
    }),
  });
  const userToken = ((await tokenRes.json()) as { access_token: string }).access_token;
  expect(userToken).toBeTruthy();
  const withUserToken = await sign('alice', 'ec-key', { data: 'AAAA' }, userToken);
  expect(withUserToken.status).toBe(401);
  expect(withUserToken.body.message).toMatch(/only client_credentials tokens of platform clients/);
  expect((await retrieve('alice', 'ec-key', userToken)).status).toBe(401);
  // And the user-facing API never carries the key.
  expect(JSON.stringify((await json(alice, `${k.baseUrl}/api/ssh-private-keys`)).body)).not.toMatch(
    /PRIVATE KEY|privateKey|sealed/,
  );
});

test('a tampered ciphertext, or one moved to another record, does not decrypt', async () => {
  const keys = k.db.collection('ssh_private_keys');
  const victim = (await keys.findOne({ name: 'hpc-archive' }))!;
  const other = (await keys.findOne({ name: 'ec-key' }))!;
  const ct = Buffer.from(String(victim.sealed.ct), 'base64');
  ct[0] ^= 1;
  await keys.updateOne({ _id: victim._id }, { $set: { 'sealed.ct': ct.toString('base64') } });
  const tampered = await sign('alice', 'hpc-archive', { data: 'AAAA' });
  expect({ status: tampered.status, message: tampered.body.message }).toEqual({
    status: 500,
    message: expect.stringMatching(/^The stored key cannot be decrypted/),
  });
  await keys.updateOne({ _id: victim._id }, { $set: { sealed: victim.sealed } });
  expect((await sign('alice', 'hpc-archive', { data: 'AAAA' })).status).toBe(200);

  // ec-key's sealed value moved onto hpc-archive's record: the associated data (owner, key id) no longer matches.
  await keys.updateOne({ _id: victim._id }, { $set: { sealed: other.sealed } });
  expect((await sign('alice', 'hpc-archive', { data: 'AAAA' })).status).toBe(500);
  // Moved to another user's record: a key of Bob's given Alice's sealed value.
  const bob = await signedInBrowser(k.baseUrl, 'bob', PASSWORD);
  expect(
    (await create(bob, { name: 'bobs', privateKey: (await kd.generate('ed25519')).privateKey }))
      .status,
  ).toBe(201);
  await keys.updateOne({ name: 'bobs' }, { $set: { sealed: victim.sealed } });
  expect((await sign('bob', 'bobs', { data: 'AAAA' })).status).toBe(500);
  // The owner alone is bound too: the same key id under another owner id does not open.
  const bobId = (await k.container.accounts.findByLogin('bob'))!.id;
  expect(() =>
    k.container.keys.envelope.open(victim.sealed, sealAad(bobId, String(victim._id))),
  ).toThrow(/tampered or moved/);
  expect(
    k.container.keys.envelope
      .open(victim.sealed, sealAad(String(victim.ownerId), String(victim._id)))
      .toString(),
  ).toMatch(/^-----BEGIN OPENSSH PRIVATE KEY-----/);
  await keys.updateOne({ _id: victim._id }, { $set: { sealed: victim.sealed } });
  expect((await sign('alice', 'hpc-archive', { data: 'AAAA' })).status).toBe(200);
});

test('every use is audited, and the owner sees the uses of their keys', async () => {
  await sign('alice', 'missing-key', { data: 'AAAA' });
  const uses = await json(alice, `${k.baseUrl}/api/ssh-private-keys/hpc-archive/uses`);
  expect(uses.status).toBe(200);
  const rows = uses.body as {
    type: string;
    client: string;
    outcome: string;
    ip?: string;
    details: Record<string, unknown>;
  }[];
  expect(rows.filter((r) => r.type === 'ssh-private-key.signed').length).toBeGreaterThanOrEqual(3);
  expect(rows.find((r) => r.details.reason === 'decrypt_failed')).toMatchObject({
    type: 'ssh-private-key.use-refused',
    outcome: 'failure',
    client: 'test-platform',
  });
  expect(rows.every((r) => r.client === 'test-platform' && r.ip)).toBe(true);
  const events = (await json(alice, `${k.baseUrl}/api/account/events?limit=200`)).body as {
    type: string;
    details: Record<string, unknown>;
  }[];
  const types = new Set(events.map((e) => e.type));
  for (const t of [
    'ssh-private-key.created',
    'ssh-private-key.signed',
    'ssh-private-key.retrieved',
    'ssh-private-key.use-refused',
  ])
    expect(types).toContain(t);
  expect(
    events.find((e) => e.type === 'ssh-private-key.use-refused' && e.details.name === 'missing-key')
      ?.details.reason,
  ).toBe('no_such_key');
});

test('org admins add keys for members (audited as the admin); others cannot; delete works', async () => {
  const olga = await signedInBrowser(k.baseUrl, 'olga', PASSWORD);
  const bob = await signedInBrowser(k.baseUrl, 'bob', PASSWORD);
  const body = { name: 'from-admin', privateKey: (await kd.generate('ed25519')).privateKey };
  const made = await json(
    olga,
    `${k.baseUrl}/api/organizations/acme/users/alice/ssh-private-keys`,
    { method: 'POST', body },
  );
  expect(made.status).toBe(201);
  expect(
    (
      await json(bob, `${k.baseUrl}/api/organizations/acme/users/alice/ssh-private-keys`, {
        method: 'POST',
        body,
      })
    ).status,
  ).toBe(403);
  expect(
    (
      await json(olga, `${k.baseUrl}/api/organizations/acme/users/mallory/ssh-private-keys`, {
        method: 'POST',
        body,
      })
    ).status,
  ).toBe(404);
  const olgaId = (await k.container.accounts.findByLogin('olga'))!.id;
  const event = await k.db
    .collection('audit_events')
    .findOne({ type: 'ssh-private-key.created', 'details.name': 'from-admin' });
  expect(event).toMatchObject({
    actorId: olgaId,
    accountId: (await k.container.accounts.findByLogin('alice'))!.id,
  });

  const del = await alice.fetch(`${k.baseUrl}/api/ssh-private-keys/from-admin`, {
    method: 'DELETE',
    headers: { accept: 'application/json' },
  });
  expect(del.status).toBe(204);
  expect((await sign('alice', 'from-admin', { data: 'AAAA' })).status).toBe(404);
  expect(
    (await json(alice, `${k.baseUrl}/api/ssh-private-keys/from-admin`, { method: 'DELETE' }))
      .status,
  ).toBe(404);
  await k.container.accounts.setDisabled('alice', true);
  expect((await sign('alice', 'ec-key', { data: 'AAAA' })).status).toBe(404);
  await k.container.accounts.setDisabled('alice', false);
});
