/**
 * Key-encryption-key rotation, online, with scripts/rotate-encryption-key.ts: instances move to
 * "v2=NEW,1=OLD", the script re-wraps every sealed secret in the database (server secrets, SSH
 * private keys, …) under v2 without touching the ciphertexts, and an instance configured with
 * only the new key still opens everything: the stored SSH private keys still sign.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import sshpk from 'sshpk';
import {
  createUser,
  PASSWORD,
  startKeyward,
  TEST_ENCRYPTION_KEY,
  type Keyward,
} from '../helpers/keyward.ts';
import { signedInBrowser } from '../helpers/browserless.ts';
import {
  KeyDir,
  PLATFORM_CLIENT_SECRET,
  clientToken,
  json,
  sshTestClients,
} from '../helpers/ssh.ts';
import { sealedIn } from '../../src/platform/crypto/sealed-secret-repository.ts';
import type { Sealed } from '../../src/platform/crypto/envelope.ts';

const NEW_KEY = randomBytes(32).toString('base64');
const kd = new KeyDir();
const instances: Keyward[] = [];

afterAll(async () => {
  for (const k of instances.reverse()) await k.stop();
  kd.remove();
});

function rotate(keys: string, ...args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      ['--disable-warning=ExperimentalWarning', 'scripts/rotate-encryption-key.ts', ...args],
      {
        env: {
          ...process.env,
          NODE_ENV: 'test',
          MONGODB_URI: instances[0].container.config.mongodbUri,
          KEYWARD_ENCRYPTION_KEY: keys,
          KEYWARD_LOG_LEVEL: 'silent',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.on('close', (code) => resolve({ code, out }));
  });
}

async function allSealed(
  k: Keyward,
): Promise<{ collection: string; path: string; sealed: Sealed }[]> {
  const found: { collection: string; path: string; sealed: Sealed }[] = [];
  for (const { name } of await k.db.listCollections().toArray()) {
    for (const doc of await k.db.collection(name).find().toArray()) {
      for (const [path, sealed] of sealedIn(doc)) found.push({ collection: name, path, sealed });
    }
  }
  return found;
}

async function signsAndVerifies(k: Keyward, name: string): Promise<void> {
  const token = await clientToken(
    k.issuer,
    'test-platform',
    PLATFORM_CLIENT_SECRET,
    'ssh-private-keys:sign',
  );
  const data = randomBytes(64);
  const res = await json(
    undefined,
    `${k.baseUrl}/api/platform/users/alice/ssh-private-keys/${name}/sign`,
    {
      method: 'POST',
      body: { data: data.toString('base64') },
      headers: { authorization: `Bearer ${token}` },
    },
  );
  expect(res.status).toBe(200);
  const pub = sshpk.parseKey(String(res.body.publicKey), 'ssh');
  const v = pub.createVerify();
  v.update(data);
  expect(
    v.verify(
      sshpk.parseSignature(
        Buffer.from(String(res.body.signature), 'base64'),
        pub.type as sshpk.AlgorithmType,
        'ssh',
      ),
    ),
  ).toBe(true);
}

test('rotation re-wraps every sealed secret online; the old key can then be dropped and keys still decrypt', async () => {
  const k1 = await startKeyward({ clients: sshTestClients });
  instances.push(k1);
  await createUser(k1, 'alice');
  const alice1 = await signedInBrowser(k1.baseUrl, 'alice', PASSWORD);
  const made = await json(alice1, `${k1.baseUrl}/api/ssh-private-keys`, {
    method: 'POST',
    body: { name: 'old-key', privateKey: (await kd.generate('ed25519')).privateKey },
  });
  expect(made.status).toBe(201);

  // Step 1: instances restart with the new key first, the old one after it.
  const uri = k1.container.config.mongodbUri;
  const both = `v2=${NEW_KEY},1=${TEST_ENCRYPTION_KEY}`;
  const k2 = await startKeyward({ clients: sshTestClients, mongodbUri: uri, encryptionKeys: both });
  instances.push(k2);
  const alice2 = await signedInBrowser(k2.baseUrl, 'alice', PASSWORD);
  expect(
    (
      await json(alice2, `${k2.baseUrl}/api/ssh-private-keys`, {
        method: 'POST',
        body: { name: 'new-key', privateKey: (await kd.generate('ecdsa')).privateKey },
      })
    ).status,
  ).toBe(201);
  const before = await allSealed(k1);
  const versions = (list: typeof before) => list.map((s) => `${s.collection}:${s.sealed.kek}`);
  expect(versions(before.filter((s) => s.collection === 'ssh_private_keys')).sort()).toEqual([
    'ssh_private_keys:1',
    'ssh_private_keys:v2',
  ]);
  expect(before.filter((s) => s.sealed.kek === '1').length).toBeGreaterThan(0);

  // A dry run changes nothing.
  const dry = await rotate(both, '--dry-run');
  expect(dry.code).toBe(0);
  expect(dry.out).toMatch(/Dry run: would re-wrap sealed secrets under key version "v2"/);
  expect(versions(await allSealed(k1))).toEqual(versions(before));

  // Step 2: the script.
  const run = await rotate(both);
  expect({ code: run.code, out: run.out }).toEqual({
    code: 0,
    out: expect.stringMatching(/Done: every sealed secret is under "v2"/),
  });
  expect(run.out).toMatch(/ssh_private_keys\s+sealed\s+2\s+re-wrapped\s+1\s+already current\s+1/);
  const after = await allSealed(k1);
  expect(after.length).toBe(before.length);
  expect(after.every((s) => s.sealed.kek === 'v2')).toBe(true);
  for (const s of after) {
    const was = before.find(
      (b) => b.collection === s.collection && b.path === s.path && b.sealed.iv === s.sealed.iv,
    )!;
    expect({ ct: s.sealed.ct, tag: s.sealed.tag }).toEqual({
      ct: was.sealed.ct,
      tag: was.sealed.tag,
    }); // only the wrapped key changed
  }
  // The running instance that has both keys keeps working during and after the rotation.
  await signsAndVerifies(k2, 'old-key');

  // Step 3: the old key is dropped; everything still opens, and running again finds nothing to do.
  const k3 = await startKeyward({
    clients: sshTestClients,
    mongodbUri: uri,
    encryptionKeys: `v2=${NEW_KEY}`,
  });
  instances.push(k3);
  await signsAndVerifies(k3, 'old-key');
  await signsAndVerifies(k3, 'new-key');
  const again = await rotate(`v2=${NEW_KEY}`);
  expect(again.code).toBe(0);
  expect(again.out).toMatch(/ssh_private_keys\s+sealed\s+2\s+re-wrapped\s+0\s+already current\s+2/);

  // Without the key a secret is wrapped under, the script says so and fails.
  const wrong = await rotate(`v3=${randomBytes(32).toString('base64')}`);
  expect(wrong.code).toBe(1);
  expect(wrong.out).toMatch(/use a key version that is not configured/);
  expect((await allSealed(k1)).every((s) => s.sealed.kek === 'v2')).toBe(true);
}, 120_000);

test('without KEYWARD_ENCRYPTION_KEY the script refuses to run', async () => {
  const res = await rotate('');
  expect(res.code).toBe(2);
  expect(res.out).toMatch(/KEYWARD_ENCRYPTION_KEY is not set/);
});
