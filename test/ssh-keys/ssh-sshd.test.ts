/**
 * The real thing: OpenSSH's sshd on a loopback port, asking Keyward through
 * scripts/authorized-keys-command (AuthorizedKeysFile none). `ssh` with a key registered in
 * Keyward gets in; after the key is deleted (or the user disabled) it is refused; an unregistered
 * key is refused. The script's safe failure (Keyward down, wrong secret, unsafe config) is checked
 * directly. Needs root (sshd, a Unix test user) and Debian's openssh-server / openssh-client.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createUser, PASSWORD, startKeyward, type Keyward } from '../helpers/keyward.ts';
import { signedInBrowser, type Browser } from '../helpers/browserless.ts';
import {
  CLUSTER_CLIENT_SECRET,
  KeyDir,
  json,
  sshTestClients,
  type GeneratedKey,
} from '../helpers/ssh.ts';
import {
  ensureUnixUser,
  run,
  sshLogin as login,
  startSshd,
  type Sshd,
} from '../helpers/ssh-cert.ts';

const UNIX_USER = 'kwtest';
const SECRET = 'sshd-test-shared-secret-5c0ffee5c0ffee42';
const SCRIPT = join(process.cwd(), 'scripts/authorized-keys-command');

const kd = new KeyDir();
let k: Keyward;
let browser: Browser;
let sshd: Sshd;
let dir: string;
let createdUnixUser = false;

const sshLogin = (key: GeneratedKey) => login(sshd.port, UNIX_USER, key.file);

beforeAll(async () => {
  createdUnixUser = ensureUnixUser(UNIX_USER);
  k = await startKeyward({
    clients: sshTestClients,
    sshKeys: { authorizedKeysPublic: false, authorizedKeysSecret: SECRET },
  });
  await createUser(k, UNIX_USER);
  browser = await signedInBrowser(k.baseUrl, UNIX_USER, PASSWORD);

  sshd = await startSshd(UNIX_USER, (d) => {
    copyFileSync(SCRIPT, join(d, 'authorized-keys-command'));
    chmodSync(join(d, 'authorized-keys-command'), 0o755);
    writeFileSync(
      join(d, 'authorized-keys.conf'),
      `# Keyward for this test's sshd\nKEYWARD_URL=${k.baseUrl}\nKEYWARD_SECRET=${SECRET}\nKEYWARD_TIMEOUT=5\n`,
      { mode: 0o600 },
    );
    return [
      'AuthorizedKeysFile none',
      `AuthorizedKeysCommand ${join(d, 'authorized-keys-command')} -c ${join(d, 'authorized-keys.conf')} %u %f`,
      'AuthorizedKeysCommandUser root',
    ];
  });
  dir = sshd.dir;
}, 60_000);

afterAll(async () => {
  await sshd?.stop();
  await k?.stop();
  if (createdUnixUser) spawnSync('userdel', ['--remove', UNIX_USER]);
  kd.remove();
});

test('ssh with a key registered in Keyward gets in; after deleting it in Keyward, it is refused', async () => {
  const key = await kd.generate('ed25519', { comment: 'kwtest@laptop' });
  const stranger = await kd.generate('ed25519');
  expect((await sshLogin(key)).code).toBe(255); // not registered yet

  const added = await json(browser, `${k.baseUrl}/api/ssh-public-keys`, {
    method: 'POST',
    body: { title: 'laptop', key: key.publicKey },
  });
  expect(added.status).toBe(200);
  const login = await sshLogin(key);
  expect({ code: login.code, stderr: login.stderr }).toEqual({ code: 0, stderr: '' });
  expect(sshd.log()).toMatch(
    new RegExp(
      `Accepted publickey for ${UNIX_USER} from 127\\.0\\.0\\.1 port \\d+ ssh2: ED25519 ${String(added.body.fingerprint).replace(/[+/]/g, '\\$&')}`,
    ),
  );
  expect((await sshLogin(stranger)).code).toBe(255);

  // sshd passed %f: Keyward shows when the key was last used.
  const [listed] = (await json(browser, `${k.baseUrl}/api/ssh-public-keys`)).body as {
    lastUsedAt: string | null;
  }[];
  expect(listed.lastUsedAt).not.toBeNull();

  const del = await browser.fetch(`${k.baseUrl}/api/ssh-public-keys/${String(added.body.id)}`, {
    method: 'DELETE',
    headers: { accept: 'application/json' },
  });
  expect(del.status).toBe(204);
  const refused = await sshLogin(key);
  expect(refused.code).toBe(255);
  expect(refused.stderr).toMatch(/Permission denied \(publickey\)/);
}, 60_000);

test('an RSA key works too, and disabling the user in Keyward locks it out at once', async () => {
  const key = await kd.generate('rsa', { bits: 3072 });
  expect(
    (
      await json(browser, `${k.baseUrl}/api/ssh-public-keys`, {
        method: 'POST',
        body: { title: 'rsa', key: key.publicKey },
      })
    ).status,
  ).toBe(200);
  expect((await sshLogin(key)).code).toBe(0);
  await k.container.accounts.setDisabled(UNIX_USER, true);
  try {
    expect((await sshLogin(key)).code).toBe(255);
  } finally {
    await k.container.accounts.setDisabled(UNIX_USER, false);
  }
  expect((await sshLogin(key)).code).toBe(0);
}, 60_000);

describe('scripts/authorized-keys-command fails safe: nothing on stdout, non-zero exit', () => {
  const script = () => join(dir, 'authorized-keys-command');
  function conf(name: string, content: string, mode = 0o600): string {
    const file = join(dir, name);
    writeFileSync(file, content, { mode });
    chmodSync(file, mode);
    return file;
  }

  test('with the right configuration it prints the lines', async () => {
    const ok = await run(script(), ['-c', join(dir, 'authorized-keys.conf'), UNIX_USER]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^ssh-rsa AAAA\S+ rsa test key\n$/);
    // The same with a cluster's OAuth client instead of the shared secret (client_credentials).
    const oauth = conf(
      'oauth.conf',
      `KEYWARD_URL=${k.baseUrl}\nKEYWARD_CLIENT_ID=test-cluster\nKEYWARD_CLIENT_SECRET="${CLUSTER_CLIENT_SECRET}"\n`,
    );
    expect(await run(script(), ['-c', oauth, UNIX_USER])).toEqual({
      code: 0,
      stdout: ok.stdout,
      stderr: '',
    });
  });

  test.each([
    [
      'Keyward unreachable',
      () =>
        conf(
          'down.conf',
          `KEYWARD_URL=http://127.0.0.1:9\nKEYWARD_SECRET=${SECRET}\nKEYWARD_TIMEOUT=2\n`,
        ),
      /request to .* failed/,
    ],
    [
      'wrong secret (401)',
      () => conf('wrong.conf', `KEYWARD_URL=${k.baseUrl}\nKEYWARD_SECRET=not-the-secret\n`),
      /request to .* failed/,
    ],
    [
      'not Keyward (an HTML page with 200)',
      () => conf('html.conf', `KEYWARD_URL=${k.baseUrl}/?x=\nKEYWARD_SECRET=${SECRET}\n`),
      /unexpected answer/,
    ],
    [
      'world-readable configuration',
      () => conf('open.conf', `KEYWARD_URL=${k.baseUrl}\nKEYWARD_SECRET=${SECRET}\n`, 0o644),
      /must not be world-readable/,
    ],
    [
      'unknown setting',
      () => conf('typo.conf', `KEYWARD_URL=${k.baseUrl}\nKEYWARD_SECRT=${SECRET}\n`),
      /unknown setting KEYWARD_SECRT/,
    ],
    ['missing configuration', () => join(dir, 'nope.conf'), /missing configuration file/],
  ])('%s', async (_name, makeConf, stderr) => {
    const res = await run(script(), ['-c', makeConf(), UNIX_USER], { timeoutMs: 15_000 });
    expect(res.stdout).toBe('');
    expect(res.code).not.toBe(0);
    expect(res.stderr).toMatch(stderr);
  });

  test('a username that is not a plain name is not looked up', async () => {
    const res = await run(script(), [
      '-c',
      join(dir, 'authorized-keys.conf'),
      '../../api/openapi.json',
    ]);
    expect({ code: res.code, stdout: res.stdout }).toEqual({ code: 1, stdout: '' });
  });
});
