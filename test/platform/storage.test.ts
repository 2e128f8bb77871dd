/** What lands in the database: hashes not passwords, sealed keys, encoded OIDC payloads, expiry on read. */
import { atOnce } from '../helpers/at-once.ts';
import { Browser, signIn } from '../helpers/browserless.ts';
import { createUser, PASSWORD, startKeyward, type Keyward } from '../helpers/keyward.ts';
import { RP_CALLBACK, testClients } from '../helpers/clients.ts';
import { OidcPayloadRepository } from '../../src/platform/oidc/oidc-payload-repository.ts';
import { AppError } from '../../src/platform/errors/app-error.ts';
import { compose } from '../../src/compose.ts';
import { createLogger } from '../../src/platform/logging/logger.ts';

let k: Keyward;
beforeAll(async () => {
  k = await startKeyward({ clients: testClients });
  await createUser(k, 'Grace', { org: 'acme', admin: true });
});
afterAll(async () => k?.stop());

test('passwords are stored as argon2id at OWASP parameters, never in clear', async () => {
  const raw = await k.db.collection('accounts').findOne({ usernameLower: 'grace' });
  expect(raw!.passwordHash).toMatch(
    /^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/,
  );
  for (const name of await k.db.listCollections().toArray()) {
    const docs = await k.db.collection(name.name).find().toArray();
    expect(JSON.stringify(docs)).not.toContain(PASSWORD);
  }
});

test('usernames are unique case-insensitively, emails unique', async () => {
  await expect(createUser(k, 'GRACE', { email: 'other@example.com' })).rejects.toMatchObject({
    code: 'conflict',
    status: 409,
  });
  await expect(createUser(k, 'grace2', { email: 'GRACE@example.com' })).rejects.toBeInstanceOf(
    AppError,
  );
  await expect(createUser(k, 'bad name!')).rejects.toMatchObject({ code: 'validation_failed' });
  await expect(createUser(k, 'shortpw', { password: 'short' })).rejects.toMatchObject({
    message: 'Password must be at least 15 characters long.',
  });
  await expect(
    createUser(k, 'commonpw', { password: 'password123456789'.slice(0, 15) }),
  ).rejects.toMatchObject({ message: 'This password is too common; choose another.' });
});

test('organizations record members and the org:admin role', async () => {
  const grace = await k.container.accounts.findByLogin('grace');
  const memberships = await k.container.organizations.membershipsOf(grace!.id);
  expect(memberships).toEqual([
    expect.objectContaining({
      admin: true,
      roles: ['org:admin'],
      organization: expect.objectContaining({ name: 'acme' }),
    }),
  ]);
});

test('OIDC artefacts: one collection per model, keyed by id, payload encoded, lookups by pointer', async () => {
  const browser = new Browser();
  const url = `${k.issuer}/authorize?client_id=test-web&response_type=code&scope=openid&redirect_uri=${encodeURIComponent(RP_CALLBACK)}&code_challenge=${'a'.repeat(43)}&code_challenge_method=S256`;
  await signIn(browser, url, 'grace', PASSWORD, RP_CALLBACK);
  const [session] = await k.db.collection('oidc_session').find().toArray();
  const [code] = await k.db.collection('oidc_authorization_code').find().toArray();
  expect(await k.db.collection('oidc_grant').countDocuments()).toBe(1);
  expect(await k.db.collection('oidc_interaction').countDocuments()).toBe(0); // the finished Interaction is gone
  for (const d of [session, code]) {
    expect(typeof d.payload).toBe('string');
    expect(d.expiresAt).toBeInstanceOf(Date);
  }
  expect(code.grantId).toBeTruthy();
  expect(session.accountId).toBeTruthy();
  // The provider finds sessions by uid through a pointer keyed by it (an _id lookup).
  const pointer = await k.db
    .collection('oidc_lookup')
    .findOne({ _id: `Session:uid:${String(session.uid)}` as never });
  expect(pointer).toMatchObject({ id: session._id });
  expect(
    await new OidcPayloadRepository(k.container.connection, Date.now).findByUid(
      'Session',
      String(session.uid),
    ),
  ).toMatchObject({ uid: session.uid });
  expect(await k.db.collection('oidc_payloads').countDocuments()).toBe(0);
});

test('expiry is enforced on read and expired rows are swept in batches', async () => {
  const now = { t: Date.now() };
  const repo = new OidcPayloadRepository(k.container.connection, () => now.t);
  await repo.upsert('AccessToken', 'tok1', { grantId: 'g1', accountId: 'a' }, 10);
  expect(await repo.find('AccessToken', 'tok1')).toMatchObject({ grantId: 'g1' });
  await k.db.collection('oidc_client_credentials').insertMany(
    Array.from({ length: 1200 }, (_, i) => ({
      _id: `cc${i}` as never,
      payload: '{}',
      expiresAt: new Date(now.t + 5000),
    })),
  );
  now.t += 11_000;
  expect(await repo.find('AccessToken', 'tok1')).toBeUndefined();
  expect(await k.db.collection('oidc_access_token').countDocuments({ _id: 'tok1' as never })).toBe(
    1,
  );
  expect(await repo.sweepExpired()).toBeGreaterThanOrEqual(1201);
  expect(await k.db.collection('oidc_access_token').countDocuments({ _id: 'tok1' as never })).toBe(
    0,
  );
  expect(await k.db.collection('oidc_client_credentials').countDocuments()).toBe(0);
});

test('sweeps asked for at once share one sweep, which removes every expired row once', async () => {
  const repo = new OidcPayloadRepository(k.container.connection, Date.now);
  await k.db.collection('oidc_client_credentials').insertMany(
    Array.from({ length: 1200 }, (_, i) => ({
      _id: `old${i}` as never,
      payload: '{}',
      expiresAt: new Date(Date.now() - 1000),
    })),
  );
  expect(await atOnce(8, () => repo.sweepExpired())).toEqual(Array(8).fill(1200));
  expect(await k.db.collection('oidc_client_credentials').countDocuments()).toBe(0);
});

test('rows stored by earlier versions in one collection are moved to their model at start-up', async () => {
  await k.db.collection('oidc_payloads').insertMany([
    {
      _id: 'Session:legacy-session' as never,
      model: 'Session',
      uid: 'legacy-uid',
      accountId: 'acct',
      payload: JSON.stringify({ uid: 'legacy-uid', accountId: 'acct' }),
      expiresAt: new Date(Date.now() + 60_000),
    },
    {
      _id: 'RefreshToken:legacy-rt' as never,
      model: 'RefreshToken',
      grantId: 'g9',
      payload: JSON.stringify({ grantId: 'g9' }),
      expiresAt: new Date(Date.now() + 60_000),
    },
  ]);
  const repo = new OidcPayloadRepository(k.container.connection, Date.now);
  await repo.ensureIndexes();
  expect(await k.db.collection('oidc_payloads').countDocuments()).toBe(0);
  expect(await repo.find('RefreshToken', 'legacy-rt')).toEqual({ grantId: 'g9' });
  expect(await repo.findByUid('Session', 'legacy-uid')).toEqual({
    uid: 'legacy-uid',
    accountId: 'acct',
  });
});

test('payloads with dotted keys and nested arrays round-trip (FerretDB-safe encoding)', async () => {
  const repo = new OidcPayloadRepository(k.container.connection, Date.now);
  const payload = { 'https://claims.example/x.y': [[1, 2], ['a']], $weird: true };
  await repo.upsert('Grant', 'g-odd', payload, 60);
  expect(await repo.find('Grant', 'g-odd')).toEqual(payload);
});

test('signing and cookie keys persist across restarts and are sealed at rest', async () => {
  const jwks1 = (await (await fetch(`${k.issuer}/jwks`)).json()) as { keys: { kid: string }[] };
  const again = await compose(k.container.config, {
    logger: createLogger('silent'),
    sweeps: false,
  });
  try {
    expect(again.keys.jwks.keys.map((x) => x.kid)).toEqual(jwks1.keys.map((x) => x.kid));
    expect(again.keys.cookieKeys).toEqual(k.container.keys.cookieKeys);
  } finally {
    await again.close();
  }
  const stored = await k.db.collection('server_secrets').findOne({ _id: 'jwks' as never });
  expect(Object.keys(stored!.value).sort()).toEqual(['ct', 'iv', 'kek', 'tag', 'v', 'wk']);
  expect(JSON.stringify(stored)).not.toMatch(/"d":|"kty"/);
});
