/**
 * One sudo rule for every security-relevant change: what adds a way in or weakens sign-in (SSH
 * login keys, SSH private keys, resetting someone's 2-step verification) needs a browser session
 * in sudo mode, never an API key; what only takes access away may be done by the credential
 * itself. An org admin can never reset a platform admin's 2-step verification.
 */
import { createUser, PASSWORD, startKeyward, type Keyward } from '../helpers/keyward.ts';
import { signedInBrowser, type Browser } from '../helpers/browserless.ts';
import { basic, createKey } from '../helpers/api-keys.ts';
import { KeyDir, json } from '../helpers/ssh.ts';

const kd = new KeyDir();
let k: Keyward;
let alice: Browser;
let aliceKey: string;
let olga: Browser;
let olgaKey: string;

beforeAll(async () => {
  k = await startKeyward();
  await createUser(k, 'olga', { org: 'acme', admin: true });
  await createUser(k, 'alice', { org: 'acme' });
  const root = await createUser(k, 'root', { org: 'acme' });
  await k.db
    .collection('accounts')
    .updateOne({ _id: root.id as never }, { $set: { platformAdmin: true } });
  alice = await signedInBrowser(k.baseUrl, 'alice', PASSWORD);
  olga = await signedInBrowser(k.baseUrl, 'olga', PASSWORD);
  aliceKey = (await createKey(alice, k.baseUrl, { title: 'automation' })).key;
  olgaKey = (await createKey(olga, k.baseUrl, { title: 'admin-automation' })).key;
});
afterAll(async () => {
  await k?.stop();
  kd.remove();
});
beforeEach(() => {
  k.clock.offsetMs = 0;
});

const keysOf = async (b: Browser) =>
  (await json(b, `${k.baseUrl}/api/ssh-public-keys`)).body as unknown[];

test('an API key cannot add an SSH login key or store an SSH private key', async () => {
  const before = (await keysOf(alice)).length;
  const pub = await json(undefined, `${k.baseUrl}/api/ssh-public-keys`, {
    method: 'POST',
    body: { title: 'planted', key: (await kd.generate('ed25519')).publicKey },
    headers: basic(aliceKey),
  });
  expect(pub.status).toBe(403);
  expect(pub.body).toMatchObject({
    code: 'sudo_required',
    message: expect.stringMatching(/API keys and tokens cannot add an SSH key/),
  });
  expect((await keysOf(alice)).length).toBe(before);
  const priv = await json(undefined, `${k.baseUrl}/api/ssh-private-keys`, {
    method: 'POST',
    body: { name: 'planted', privateKey: (await kd.generate('ed25519')).privateKey },
    headers: basic(aliceKey),
  });
  expect(priv.status).toBe(403);
  expect((await json(alice, `${k.baseUrl}/api/ssh-private-keys`)).body).toHaveLength(0);
});

test('a credential may take access away by itself: an API key deletes an SSH key', async () => {
  const added = await json(alice, `${k.baseUrl}/api/ssh-public-keys`, {
    method: 'POST',
    body: { title: 'laptop', key: (await kd.generate('ed25519')).publicKey },
  });
  expect(added.status).toBe(200);
  const del = await json(undefined, `${k.baseUrl}/api/ssh-public-keys/${String(added.body.id)}`, {
    method: 'DELETE',
    headers: basic(aliceKey),
  });
  expect(del.status).toBe(204);
});

test("resetting a member's 2-step verification: browser session in sudo mode only", async () => {
  const reset = (b: Browser | undefined, user: string, headers: Record<string, string> = {}) =>
    json(b, `${k.baseUrl}/api/organizations/acme/users/${user}/mfa`, { method: 'DELETE', headers });
  const byKey = await reset(undefined, 'alice', basic(olgaKey));
  expect(byKey.status).toBe(403);
  expect(byKey.body).toMatchObject({ code: 'sudo_required' });
  k.clock.offsetMs = 11 * 60_000; // olga's sign-in is older than the sudo window now
  expect((await reset(olga, 'alice')).body).toMatchObject({
    code: 'sudo_required',
    params: { verifyUrl: '/account/verify' },
  });
  k.clock.offsetMs = 0;
  expect((await reset(olga, 'alice')).status).toBe(204);
  const resets = (
    await k.container.audit.forAccount((await k.container.accounts.findByLogin('alice'))!.id)
  ).filter((e) => e.type === 'mfa.admin_reset');
  expect(resets).toHaveLength(1);
});

test("an org admin can never reset a platform admin's 2-step verification", async () => {
  const res = await json(olga, `${k.baseUrl}/api/organizations/acme/users/root/mfa`, {
    method: 'DELETE',
  });
  expect(res.status).toBe(403);
  expect(res.body).toMatchObject({
    code: 'forbidden',
    message: expect.stringMatching(/platform administrator/),
  });
  const events = await k.container.audit.forAccount(
    (await k.container.accounts.findByLogin('root'))!.id,
  );
  expect(events.map((e) => e.type)).not.toContain('mfa.admin_reset');
});
