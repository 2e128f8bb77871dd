/**
 * SSH certificates over the REST API, read back with OpenSSH's own tools: `ssh-keygen -L` shows
 * the key id, serial, principals, validity, critical options and extensions for every accepted
 * key type; validity is capped by the request, the policy and the presenting credential; bad input
 * and policies are 4xx with a message; listing for the user and org admins; revocation by the
 * owner or an org admin lands in the KRL (`ssh-keygen -Q`); CA rotation changes the signing key.
 */
import { writeFileSync } from 'node:fs';
import { signedInBrowser, type Browser } from '../helpers/browserless.ts';
import { createUser, PASSWORD, startKeyward, type Keyward } from '../helpers/keyward.ts';
import { KeyDir, dsaLine, json } from '../helpers/ssh.ts';
import { basic, bearer, call, createKey } from '../helpers/api-keys.ts';
import { keygenList, keygenTime, revokedByKrl, run } from '../helpers/ssh-cert.ts';
import { parseCertificate } from '../../src/features/ssh-ca/ssh-certificate.ts';
import { agentVerify } from '../../src/platform/ssh/ssh-signer.ts';

const kd = new KeyDir();
let k: Keyward;
let alice: Browser;
let olga: Browser;
let sam: Browser;
let platform: Browser;
const ALL_EXTENSIONS = [
  'permit-X11-forwarding',
  'permit-agent-forwarding',
  'permit-port-forwarding',
  'permit-pty',
  'permit-user-rc',
];

beforeAll(async () => {
  k = await startKeyward();
  await createUser(k, 'alice', { org: 'acme' });
  await createUser(k, 'olga', { org: 'acme', admin: true });
  await createUser(k, 'sam');
  const plat = await createUser(k, 'plat');
  await k.db
    .collection('accounts')
    .updateOne({ _id: plat.id as never }, { $set: { platformAdmin: true } });
  [alice, olga, sam, platform] = await Promise.all(
    ['alice', 'olga', 'sam', 'plat'].map((u) => signedInBrowser(k.baseUrl, u, PASSWORD)),
  );
}, 60_000);
afterAll(async () => {
  await k?.stop();
  kd.remove();
});
afterEach(() => {
  k.clock.offsetMs = 0;
});

type Cert = {
  certificate: string;
  serial: number;
  keyId: string;
  principals: string[];
  validAfter: string;
  validBefore: string;
  fingerprint: string;
  caFingerprint: string;
};
const issue = (who: Browser | undefined, body: unknown, headers: Record<string, string> = {}) =>
  json(who, `${k.baseUrl}/api/ssh/certificates`, { method: 'POST', body, headers });
const orgPolicy = (name: string, value: unknown, who = olga) =>
  json(who, `${k.baseUrl}/api/organizations/acme/policies/${name}`, {
    method: 'POST',
    body: value,
  });
const clearOrgPolicy = (name: string) =>
  json(platform, `${k.baseUrl}/api/organizations/acme/policies/${name}`, { method: 'DELETE' });
const certFile = (keyFile: string, cert: Cert) => {
  const f = `${keyFile}-cert.pub`;
  writeFileSync(f, `${cert.certificate}\n`);
  return f;
};
const caPub = async () => (await call(k.baseUrl, '/api/ssh/ca.pub')).text;

test('ca.pub serves the active CA key as one TrustedUserCAKeys line; its private key is sealed at rest', async () => {
  const res = await call(k.baseUrl, '/api/ssh/ca.pub');
  expect(res.status).toBe(200);
  expect(res.type).toMatch(/^text\/plain/);
  expect(res.text).toMatch(/^ssh-ed25519 AAAAC3NzaC1lZDI1NTE5\S+ keyward-user-ca:ca-1\n$/);
  const [stored] = await k.db.collection('ssh_ca_keys').find().toArray();
  expect(stored).toMatchObject({
    _id: 'ca-1',
    state: 'active',
    type: 'ssh-ed25519',
    sealed: { v: 1 },
  });
  expect(JSON.stringify(stored)).not.toMatch(/PRIVATE KEY|MC4CAQAwBQYDK2Vw/); // no PEM, no PKCS#8 prefix
  const fp = await run('ssh-keygen', ['-l', '-f', kd.write('ca.pub', res.text)]);
  expect(fp.stdout).toContain(String(stored.fingerprint));
  const paths = Object.keys((await call(k.baseUrl, '/api/openapi.json')).json().paths as object);
  expect(paths).toEqual(
    expect.arrayContaining([
      '/api/ssh/ca.pub',
      '/api/ssh/krl',
      '/api/ssh/certificates',
      '/api/ssh/certificates/{serial}/revoke',
      '/api/organizations/{org}/ssh/certificates',
    ]),
  );
});

test.each([
  ['ed25519', {}, 'ED25519-CERT', 'ssh-ed25519-cert-v01@openssh.com'],
  ['ecdsa', { bits: 256 }, 'ECDSA-CERT', 'ecdsa-sha2-nistp256-cert-v01@openssh.com'],
  ['ecdsa', { bits: 384 }, 'ECDSA-CERT', 'ecdsa-sha2-nistp384-cert-v01@openssh.com'],
  ['ecdsa', { bits: 521 }, 'ECDSA-CERT', 'ecdsa-sha2-nistp521-cert-v01@openssh.com'],
  ['rsa', { bits: 2048 }, 'RSA-CERT', 'ssh-rsa-cert-v01@openssh.com'],
])(
  'a %s %o key: ssh-keygen -L shows key id, serial, principals, validity and extensions',
  async (type, opts, label, certType) => {
    const key = await kd.generate(type, opts);
    const before = Math.floor(Date.now() / 1000);
    const res = await issue(
      alice,
      { publicKey: key.publicKey, validitySeconds: 3600 },
      { 'x-request-id': `req-${type}-${JSON.stringify(opts).length}-test` },
    );
    expect(res.status).toBe(200);
    const cert = res.body as unknown as Cert;
    expect(cert.certificate.startsWith(`${certType} `)).toBe(true);
    expect(cert.keyId).toBe(`keyward:alice:req-${type}-${JSON.stringify(opts).length}-test`);
    const listing = await keygenList(certFile(key.file, cert));
    const ca = (await caPub()).split(' ');
    expect(listing).toEqual({
      type: `${certType} user certificate`,
      publicKey: `${label} ${kd.keygenFingerprint(key.publicKey).fingerprint}`,
      signingCa: `ED25519 ${cert.caFingerprint} (using ssh-ed25519)`,
      keyId: `"${cert.keyId}"`,
      serial: String(cert.serial),
      valid: `from ${keygenTime(cert.validAfter)} to ${keygenTime(cert.validBefore)}`,
      principals: ['alice'],
      criticalOptions: [],
      extensions: ALL_EXTENSIONS,
    });
    // valid-after 5 minutes back for clock skew, valid-before as asked.
    expect(Date.parse(cert.validAfter) / 1000).toBeGreaterThanOrEqual(before - 300 - 1);
    expect((Date.parse(cert.validBefore) - Date.parse(cert.validAfter)) / 1000).toBe(3600 + 300);
    // The signature verifies against the published CA key, and a flipped bit in it makes ssh-keygen refuse the file.
    const blob = Buffer.from(cert.certificate.split(' ')[1], 'base64');
    const parsed = parseCertificate(blob);
    expect(parsed.caKeyBlob.toString('base64')).toBe(ca[1]);
    expect(agentVerify(parsed.caKeyBlob, parsed.signed, parsed.signature)).toBe(true);
    blob[blob.length - 5] ^= 1;
    const tampered = kd.write(
      `tampered-${cert.serial}-cert.pub`,
      `${certType} ${blob.toString('base64')}\n`,
    );
    expect((await run('ssh-keygen', ['-L', '-f', tampered])).code).not.toBe(0);
  },
  30_000,
);

test('validity: the default is 8 h; the policy caps it; a CLI token caps it at its own expiry and refuses when nearly expired', async () => {
  const key = await kd.generate('ed25519');
  const span = (c: Cert) => (Date.parse(c.validBefore) - Date.parse(c.validAfter)) / 1000 - 300;
  expect(span((await issue(alice, { publicKey: key.publicKey })).body as unknown as Cert)).toBe(
    8 * 3600,
  );
  expect((await orgPolicy('ssh-certificate-max-validity-hours', 1)).status).toBe(200);
  try {
    expect(
      span(
        (await issue(alice, { publicKey: key.publicKey, validitySeconds: 7200 }))
          .body as unknown as Cert,
      ),
    ).toBe(3600);
    expect(
      span(
        (await issue(alice, { publicKey: key.publicKey, validitySeconds: 600 }))
          .body as unknown as Cert,
      ),
    ).toBe(600);
  } finally {
    await clearOrgPolicy('ssh-certificate-max-validity-hours');
  }
  for (const bad of [0, 25, 2.5, '8'])
    expect({
      bad,
      status: (await orgPolicy('ssh-certificate-max-validity-hours', bad)).status,
    }).toEqual({ bad, status: 400 });

  const cli = JSON.parse(
    await (
      await alice.fetch(`${k.baseUrl}/api/auth/token?ttl=1`, {
        headers: { accept: 'application/json' },
      })
    ).text(),
  ) as string;
  const tokenExpiry = Math.floor((Date.now() + 3600_000) / 1000);
  const viaToken = (await issue(undefined, { publicKey: key.publicKey }, bearer(cli)))
    .body as unknown as Cert;
  expect(Math.abs(Date.parse(viaToken.validBefore) / 1000 - tokenExpiry)).toBeLessThanOrEqual(2);
  k.clock.offsetMs = 3000_000;
  const late = (await issue(undefined, { publicKey: key.publicKey }, bearer(cli)))
    .body as unknown as Cert;
  expect(Math.abs(Date.parse(late.validBefore) / 1000 - tokenExpiry)).toBeLessThanOrEqual(2);
  k.clock.offsetMs = 3570_000;
  const expiring = await issue(undefined, { publicKey: key.publicKey }, bearer(cli));
  expect(expiring.status).toBe(401);
  expect(expiring.body.message).toMatch(/expires in less than 60 seconds/);
  k.clock.offsetMs = 3601_000;
  const expired = await issue(undefined, { publicKey: key.publicKey }, bearer(cli));
  expect(expired.status).toBe(401);
  expect(expired.body.message).toMatch(/CLI token expired/);
});

test('bad input is a 400 that says what is wrong; no credential is a 401; API keys are refused', async () => {
  const key = await kd.generate('ed25519');
  const cases: [unknown, RegExp][] = [
    [{}, /publicKey: .*is required/],
    [{ publicKey: 'hello world' }, /not an SSH public key/],
    [{ publicKey: key.privateKey }, /This is a private key/],
    [{ publicKey: dsaLine() }, /DSA keys .* are not accepted/],
    [{ publicKey: key.publicKey, validitySeconds: 30 }, /validitySeconds/],
    [{ publicKey: key.publicKey, validitySeconds: 90_000 }, /validitySeconds/],
    [{ publicKey: key.publicKey, validitySeconds: 'long' }, /validitySeconds: must be a number/],
  ];
  for (const [body, message] of cases) {
    const res = await issue(alice, body);
    expect({ body, status: res.status }).toEqual({ body, status: 400 });
    expect(res.body.message).toMatch(message);
  }
  const cert = (await issue(alice, { publicKey: key.publicKey })).body as unknown as Cert;
  const again = await issue(alice, { publicKey: cert.certificate });
  expect(again.status).toBe(400);
  expect(again.body.message).toMatch(/SSH certificate, not a public key/);

  expect((await issue(undefined, { publicKey: key.publicKey })).status).toBe(401);
  const { key: apiKey } = await createKey(alice, k.baseUrl, { title: 'automation' });
  const byKey = await issue(undefined, { publicKey: key.publicKey }, basic(apiKey));
  expect(byKey.status).toBe(403);
  expect(byKey.body.message).toMatch(/not to API keys/);
});

test('policies: disabled refuses (audited); extensions, source-address and platform-set principals show in the certificate', async () => {
  const key = await kd.generate('ed25519');
  expect((await orgPolicy('ssh-certificates-enabled', false)).status).toBe(200);
  const refused = await issue(alice, { publicKey: key.publicKey });
  expect(refused.status).toBe(403);
  expect(refused.body.message).toMatch(/disabled by policy \(ssh-certificates-enabled\)/);
  expect((await issue(sam, { publicKey: key.publicKey })).status).toBe(200); // another organization (none): not affected
  await clearOrgPolicy('ssh-certificates-enabled');
  const events = await k.container.audit.forAccount(
    (await k.container.accounts.findByLogin('alice'))!.id,
    200,
  );
  expect(
    events.filter(
      (e) => e.type === 'ssh_certificate.refused' && e.details.reason === 'disabled_by_policy',
    ),
  ).toEqual([
    expect.objectContaining({
      outcome: 'failure',
      details: {
        reason: 'disabled_by_policy',
        via: 'session',
        fingerprint: kd.keygenFingerprint(key.publicKey).fingerprint,
      },
    }),
  ]);

  expect(
    (await orgPolicy('ssh-certificate-extensions', ['permit-pty', 'permit-port-forwarding']))
      .status,
  ).toBe(200);
  expect(
    (await orgPolicy('ssh-certificate-source-address', '10.0.0.0/8, 127.0.0.1/32,2001:db8::/32'))
      .status,
  ).toBe(200);
  expect((await orgPolicy('ssh-certificate-principals', ['deploy'])).status).toBe(403); // org admins cannot: the CA is shared
  expect(
    (await orgPolicy('ssh-certificate-principals', ['deploy', 'alice-ops'], platform)).status,
  ).toBe(200);
  try {
    const cert = (await issue(alice, { publicKey: key.publicKey })).body as unknown as Cert;
    const listing = await keygenList(certFile(key.file, cert));
    expect(listing.principals).toEqual(['alice', 'deploy', 'alice-ops']);
    expect(listing.extensions).toEqual(['permit-port-forwarding', 'permit-pty']);
    expect(listing.criticalOptions).toEqual([
      'source-address 10.0.0.0/8,127.0.0.1/32,2001:db8::/32',
    ]);
  } finally {
    for (const p of [
      'ssh-certificate-extensions',
      'ssh-certificate-source-address',
      'ssh-certificate-principals',
    ])
      await clearOrgPolicy(p);
  }
  const bad: [string, unknown, RegExp][] = [
    ['ssh-certificate-extensions', ['permit-pty', 'permit-everything'], /Invalid value/],
    ['ssh-certificate-extensions', ['permit-pty', 'permit-pty'], /must not repeat/],
    ['ssh-certificate-source-address', '10.0.0.1/8', /bits set beyond \/8/],
    ['ssh-certificate-source-address', '10.0.0.0/33', /prefix length must be 0–32/],
    ['ssh-certificate-source-address', 'intranet', /not an IPv4 or IPv6 address/],
    ['ssh-certificate-principals', ['has space'], /each principal must be/],
  ];
  for (const [name, value, message] of bad) {
    const res = await orgPolicy(name, value, platform);
    expect({ name, value, status: res.status }).toEqual({ name, value, status: 400 });
    expect(res.body.message).toMatch(message);
  }
});

test('listing, revocation by the owner or an org admin (audited), and the KRL sshd reads', async () => {
  const key = await kd.generate('ed25519');
  // Issued concurrently: FerretDB's $inc is not atomic, the unique serial index keeps serials distinct.
  const [a, b, c, ...more] = await Promise.all(
    [1, 2, 3, 4, 5, 6].map(
      async () => (await issue(alice, { publicKey: key.publicKey })).body as unknown as Cert,
    ),
  );
  expect(new Set([a, b, c, ...more].map((x) => x.serial)).size).toBe(6);
  const mine = (await json(alice, `${k.baseUrl}/api/ssh/certificates?limit=6`)).body as unknown as {
    serial: number;
    status: string;
    username: string;
  }[];
  expect(mine.map((x) => x.serial)).toEqual(
    [a, b, c, ...more].map((x) => x.serial).sort((x, y) => y - x),
  );
  expect(mine.every((x) => x.status === 'valid' && x.username === 'alice')).toBe(true);
  const orgList = (
    await json(olga, `${k.baseUrl}/api/organizations/acme/ssh/certificates?limit=200`)
  ).body as unknown as { serial: number }[];
  expect(orgList.map((x) => x.serial)).toEqual(
    expect.arrayContaining([a.serial, b.serial, c.serial]),
  );
  expect((await json(sam, `${k.baseUrl}/api/organizations/acme/ssh/certificates`)).status).toBe(
    404,
  );
  expect((await json(alice, `${k.baseUrl}/api/organizations/acme/ssh/certificates`)).status).toBe(
    403,
  );
  expect((await json(alice, `${k.baseUrl}/api/ssh/certificates?limit=500`)).status).toBe(400);

  const revoke = (who: Browser, serial: number | string) =>
    json(who, `${k.baseUrl}/api/ssh/certificates/${serial}/revoke`, { method: 'POST', body: {} });
  expect((await revoke(sam, a.serial)).status).toBe(404); // a stranger learns nothing
  expect((await revoke(alice, 999_999)).status).toBe(404);
  expect((await revoke(alice, 'abc')).status).toBe(400);
  const byOwner = await revoke(alice, a.serial);
  expect(byOwner.body).toMatchObject({ serial: a.serial, status: 'revoked' });
  expect((await revoke(olga, b.serial)).body).toMatchObject({
    serial: b.serial,
    status: 'revoked',
  });
  expect((await revoke(alice, a.serial)).status).toBe(200); // idempotent

  const events = await k.container.audit.forAccount(
    (await k.container.accounts.findByLogin('alice'))!.id,
    50,
  );
  const olgaId = (await k.container.accounts.findByLogin('olga'))!.id;
  expect(
    events
      .filter((e) => e.type === 'ssh_certificate.revoked')
      .map((e) => [e.details.serial, e.actorId]),
  ).toEqual([
    [b.serial, olgaId],
    [a.serial, expect.any(String)],
  ]);
  const issued = events.find(
    (e) => e.type === 'ssh_certificate.issued' && e.details.serial === c.serial,
  )!;
  expect(issued.details).toMatchObject({
    keyId: c.keyId,
    principals: 'alice',
    fingerprint: c.fingerprint,
    validBefore: c.validBefore,
    via: 'session',
  });

  const krl = await fetch(`${k.baseUrl}/api/ssh/krl`);
  expect(krl.headers.get('content-type')).toBe('application/octet-stream');
  const krlFile = kd.write('keyward.krl', '');
  writeFileSync(krlFile, Buffer.from(await krl.arrayBuffer()));
  expect(await revokedByKrl(krlFile, certFile(`${key.file}-a`, a))).toBe(true);
  expect(await revokedByKrl(krlFile, certFile(`${key.file}-b`, b))).toBe(true);
  expect(await revokedByKrl(krlFile, certFile(`${key.file}-c`, c))).toBe(false);
  const listed = await run('ssh-keygen', ['-Q', '-l', '-f', krlFile]);
  expect(listed.stdout).toMatch(new RegExp(`serial: ${Math.min(a.serial, b.serial)}\\b`));
});

test('CA rotation: a new key is published first, signs once activated, and leaves ca.pub when retired', async () => {
  const ca = k.container.sshCa.ca;
  const key = await kd.generate('ed25519');
  const next = await ca.rotate('ecdsa-p256');
  expect((await caPub()).trim().split('\n')).toHaveLength(2);
  const stillOld = (await issue(alice, { publicKey: key.publicKey })).body as unknown as Cert;
  expect((await keygenList(certFile(key.file, stillOld))).signingCa).toMatch(/^ED25519 /);
  await expect(ca.retire('ca-1')).rejects.toThrow(/active signing key/);
  await ca.activate(next.id);
  const fresh = (await issue(alice, { publicKey: key.publicKey })).body as unknown as Cert;
  expect((await keygenList(certFile(`${key.file}-new`, fresh))).signingCa).toBe(
    `ECDSA ${next.fingerprint} (using ecdsa-sha2-nistp256)`,
  );
  expect((await caPub()).trim().split('\n')).toHaveLength(2);
  await ca.retire('ca-1');
  expect(await caPub()).toBe(`${next.publicKey}\n`);
  await expect(ca.activate('ca-1')).rejects.toThrow(/retired/);
  await expect(ca.retire('ca-9')).rejects.toThrow(/No CA key "ca-9"/);
  expect((await ca.list()).map((x) => [x.id, x.state])).toEqual([
    ['ca-1', 'retired'],
    [next.id, 'active'],
  ]);
});
