/**
 * The real thing: OpenSSH's sshd on a loopback port trusting Keyward's CA (TrustedUserCAKeys =
 * GET /api/ssh/ca.pub, RevokedKeys = GET /api/ssh/krl, AuthorizedKeysFile none). A certificate
 * from `keyward ssh-cert` gets in; an expired one, one for another principal and a revoked one
 * (once the KRL is fetched) are refused; a CA rotation with scripts/ssh-ca.ts keeps the old
 * certificates working while the old key is published, and ends them when it is retired.
 * Needs root (sshd, a Unix test user) and Debian's openssh-server / openssh-client.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import {
  createUser,
  databaseUri,
  PASSWORD,
  startKeyward,
  TEST_ENCRYPTION_KEY,
  type Keyward,
} from '../helpers/keyward.ts';
import { signedInBrowser, type Browser } from '../helpers/browserless.ts';
import { KeyDir, json, type GeneratedKey } from '../helpers/ssh.ts';
import { cli } from '../helpers/device.ts';
import {
  ensureUnixUser,
  keygenList,
  run,
  sshLogin,
  startSshd,
  type Sshd,
} from '../helpers/ssh-cert.ts';

const UNIX_USER = 'kwcert';
const kd = new KeyDir();
let k: Keyward;
let sshd: Sshd;
let me: Browser;
let other: Browser;
let createdUnixUser = false;

/** What the operator's timer does: curl ca.pub and the KRL into the files sshd reads. */
async function refresh(): Promise<void> {
  writeFileSync(
    join(sshd.dir, 'keyward_ca.pub'),
    await (await fetch(`${k.baseUrl}/api/ssh/ca.pub`)).text(),
  );
  writeFileSync(
    join(sshd.dir, 'keyward.krl'),
    Buffer.from(await (await fetch(`${k.baseUrl}/api/ssh/krl`)).arrayBuffer()),
  );
}

type Cert = { certificate: string; serial: number; keyId: string; fingerprint: string };
async function certify(
  who: Browser,
  key: GeneratedKey,
  validitySeconds = 3600,
  name = 'cert',
): Promise<Cert & { file: string }> {
  const res = await json(who, `${k.baseUrl}/api/ssh/certificates`, {
    method: 'POST',
    body: { publicKey: key.publicKey, validitySeconds },
  });
  if (res.status !== 200)
    throw new Error(`issue answered ${res.status}: ${JSON.stringify(res.body)}`);
  const cert = res.body as unknown as Cert;
  const file = kd.write(`${name}-${cert.serial}-cert.pub`, `${cert.certificate}\n`);
  return { ...cert, file };
}
const login = (key: GeneratedKey, certFile: string) =>
  sshLogin(sshd.port, UNIX_USER, key.file, certFile);
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

function caScript(...args: string[]) {
  return run(
    process.execPath,
    ['--disable-warning=ExperimentalWarning', 'scripts/ssh-ca.ts', ...args],
    {
      env: {
        MONGODB_URI: databaseUri(k.db.databaseName),
        KEYWARD_ENCRYPTION_KEY: TEST_ENCRYPTION_KEY,
        KEYWARD_LOG_LEVEL: 'silent',
      },
      timeoutMs: 60_000,
    },
  );
}

beforeAll(async () => {
  createdUnixUser = ensureUnixUser(UNIX_USER);
  k = await startKeyward();
  await createUser(k, UNIX_USER);
  await createUser(k, 'kwother');
  me = await signedInBrowser(k.baseUrl, UNIX_USER, PASSWORD);
  other = await signedInBrowser(k.baseUrl, 'kwother', PASSWORD);
  sshd = await startSshd(UNIX_USER, (dir) => [
    'AuthorizedKeysFile none',
    `TrustedUserCAKeys ${join(dir, 'keyward_ca.pub')}`,
    `RevokedKeys ${join(dir, 'keyward.krl')}`,
  ]);
  await refresh();
}, 60_000);

afterAll(async () => {
  await sshd?.stop();
  await k?.stop();
  if (createdUnixUser) spawnSync('userdel', ['--remove', UNIX_USER]);
  kd.remove();
});
afterEach(() => {
  k.clock.offsetMs = 0;
});

test('`keyward ssh-cert` writes <key>-cert.pub next to the key, and ssh with it gets in (the bare key does not)', async () => {
  const key = await kd.generate('ed25519', { comment: 'kwcert@laptop' });
  const token = JSON.parse(
    await (
      await me.fetch(`${k.baseUrl}/api/auth/token?ttl=1`, {
        headers: { accept: 'application/json' },
      })
    ).text(),
  ) as string;
  const env = { KEYWARD_API_KEY: token, KEYWARD_SERVER: k.baseUrl, HOME: kd.dir };
  const out = await cli(['ssh-cert', '--key', key.file, '--validity', '30m'], env); // the private key's path: its .pub is used
  expect(out).toMatchObject({ code: 0, stdout: `${key.file}-cert.pub\n` });
  expect(out.stderr).toMatch(
    /✓ Wrote .*-cert\.pub: serial \d+, principals kwcert, valid until \d{4}-\d\d-\d\d \d\d:\d\d UTC\./,
  );
  const listing = await keygenList(`${key.file}-cert.pub`);
  expect(listing.principals).toEqual([UNIX_USER]);
  const [from, to] = /^from (\S+) to (\S+)$/
    .exec(listing.valid)!
    .slice(1)
    .map((t) => Date.parse(`${t}Z`));
  expect((to - from) / 1000).toBe(1800 + 300);

  const ok = await login(key, `${key.file}-cert.pub`);
  expect({ code: ok.code, stderr: ok.stderr }).toEqual({ code: 0, stderr: '' });
  expect(sshd.log()).toMatch(
    new RegExp(
      `Accepted publickey for ${UNIX_USER} from 127\\.0\\.0\\.1 port \\d+ ssh2: ED25519-CERT ${escape(kd.keygenFingerprint(key.publicKey).fingerprint)} ID keyward:${UNIX_USER}:\\S+ \\(serial ${listing.serial}\\) CA ED25519`,
    ),
  );
  expect((await login(key, '/dev/null')).code).toBe(255); // no certificate: AuthorizedKeysFile none

  // Usage errors: a bad duration, and a private key where the public one is expected (never sent).
  const bad = await cli(['ssh-cert', '--key', `${key.file}.pub`, '--validity', '2days'], env);
  expect(bad.code).toBe(2);
  expect(bad.stderr).toMatch(/--validity must be a duration from 60s to 24h/);
  const oops = kd.write('oops.pub', key.privateKey);
  const refused = await cli(['ssh-cert', '--key', oops], env);
  expect(refused.code).toBe(2);
  expect(refused.stderr).toMatch(/is a private key; keyward never sends private keys/);
  expect(existsSync(join(kd.dir, 'oops-cert.pub'))).toBe(false);
}, 60_000);

test('an expired certificate is refused', async () => {
  const key = await kd.generate('ecdsa', { bits: 256 });
  k.clock.offsetMs = -2 * 3600_000; // issued "two hours ago" for one hour
  const cert = await certify(me, key, 3600, 'expired');
  k.clock.offsetMs = 0;
  const res = await login(key, cert.file);
  expect(res.code).toBe(255);
  expect(res.stderr).toMatch(/Permission denied \(publickey\)/);
  expect(sshd.log()).toMatch(/Certificate invalid: expired/);
}, 30_000);

test('a certificate for another principal is refused', async () => {
  const key = await kd.generate('ed25519');
  const cert = await certify(other, key, 3600, 'other');
  expect((await keygenList(cert.file)).principals).toEqual(['kwother']);
  expect((await login(key, cert.file)).code).toBe(255);
  expect(sshd.log()).toMatch(/Certificate invalid: name is not a listed principal/);
}, 30_000);

test('the source-address critical option is enforced by sshd', async () => {
  const key = await kd.generate('ed25519');
  const { policies } = k.container;
  await policies.set('platform', 'ssh-certificate-source-address', '10.0.0.0/8');
  try {
    const elsewhere = await certify(me, key, 3600, 'src-elsewhere');
    expect((await login(key, elsewhere.file)).code).toBe(255);
    expect(sshd.log()).toMatch(/not from a permitted source address \(127\.0\.0\.1\)/);
    await policies.set('platform', 'ssh-certificate-source-address', '10.0.0.0/8,127.0.0.0/8');
    expect((await login(key, (await certify(me, key, 3600, 'src-here')).file)).code).toBe(0);
  } finally {
    await policies.clear('platform', 'ssh-certificate-source-address');
  }
}, 30_000);

test('a revoked serial is refused once sshd has the fresh KRL', async () => {
  const key = await kd.generate('rsa', { bits: 2048 });
  const cert = await certify(me, key, 3600, 'revoked');
  expect((await login(key, cert.file)).code).toBe(0);
  expect(
    (
      await json(me, `${k.baseUrl}/api/ssh/certificates/${cert.serial}/revoke`, {
        method: 'POST',
        body: {},
      })
    ).status,
  ).toBe(200);
  expect((await login(key, cert.file)).code).toBe(0); // sshd still has the old KRL
  await refresh();
  expect((await login(key, cert.file)).code).toBe(255);
  expect(sshd.log()).toMatch(/RSA-CERT \S+ revoked by file/);
  const keep = await certify(me, key, 3600, 'kept'); // the same key with a new certificate is fine
  expect((await login(key, keep.file)).code).toBe(0);
}, 60_000);

test('CA rotation with scripts/ssh-ca.ts: old certificates work while the old key is published, not after it is retired', async () => {
  const key = await kd.generate('ed25519');
  const old = await certify(me, key, 3600, 'before-rotation');
  const rotated = await caScript('rotate', '--algorithm', 'ecdsa-p384');
  expect(rotated).toMatchObject({
    code: 0,
    stdout: expect.stringMatching(
      /^ca-2 {2}published {2}ecdsa-sha2-nistp384 {2}SHA256:\S+ {2}\S+\n$/,
    ),
  });
  expect(rotated.stderr).toMatch(/run `activate ca-2`/);
  await refresh();
  expect(
    readFileSync(join(sshd.dir, 'keyward_ca.pub'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => l.split(' ')[2]),
  ).toEqual(['keyward-user-ca:ca-1', 'keyward-user-ca:ca-2']);
  expect((await login(key, old.file)).code).toBe(0);

  expect((await caScript('activate', 'ca-2')).code).toBe(0);
  const fresh = await certify(me, key, 3600, 'after-rotation');
  expect((await keygenList(fresh.file)).signingCa).toMatch(
    /^ECDSA SHA256:\S+ \(using ecdsa-sha2-nistp384\)$/,
  );
  expect((await login(key, fresh.file)).code).toBe(0);
  expect((await login(key, old.file)).code).toBe(0); // ca-1 is still published

  const retireActive = await caScript('retire', 'ca-2');
  expect(retireActive.code).toBe(1);
  expect(retireActive.stderr).toMatch(/ca-2 is the active signing key/);
  expect((await caScript('retire', 'ca-1')).code).toBe(0);
  await refresh();
  expect((await login(key, old.file)).code).toBe(255);
  expect((await login(key, fresh.file)).code).toBe(0);
  const listed = JSON.parse((await caScript('list', '-o', 'json')).stdout) as {
    id: string;
    state: string;
  }[];
  expect(listed.map((x) => [x.id, x.state])).toEqual([
    ['ca-1', 'retired'],
    ['ca-2', 'active'],
  ]);
  expect((await caScript('frobnicate')).code).toBe(2);
}, 120_000);
