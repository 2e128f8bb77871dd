/**
 * The platform's own Python SDK (parallelworks-client 7.122.0 from PyPI, unmodified) against a
 * `keyward auth login`: `Client.from_credential_config(cli_command="keyward")` finds the sign-in in
 * the default credentials file with no settings, authenticates through CLIAuth (which runs
 * `keyward auth token --print -o json --context …` found on PATH), and gets a renewed token from the
 * CLI near expiry; 8 SDK processes near expiry at once rotate the refresh token once.
 *
 * The SDK is installed once into a venv in ~/.cache/keyward (Debian's python3 and python3-venv
 * come with `npm test`'s set-up).
 */
import { runProcess, type ProcessRun } from '../helpers/process.ts';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import type { KoaContextWithOIDC } from 'oidc-provider';
import { signedInBrowser, type Browser } from '../helpers/browserless.ts';
import { createUser, PASSWORD, startKeyward, type Keyward } from '../helpers/keyward.ts';
import { approve, CLI_BIN, codeFrom } from '../helpers/device.ts';
import { atOnce } from '../helpers/at-once.ts';

const SDK = 'parallelworks-client==7.122.0';
const VENV = join(
  process.env.HOME || homedir(),
  '.cache',
  'keyward',
  'parallelworks-client-7.122.0',
);
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

const binDir = mkdtempSync(join(tmpdir(), 'keyward-bin-'));
symlinkSync(CLI_BIN, join(binDir, 'keyward'));
const PATH = [binDir, '/usr/local/bin', '/usr/bin', '/bin', dirname(process.execPath)].join(
  delimiter,
);

const run = runProcess;

/** The SDK in its own venv, installed from PyPI once (a marker file says the install finished). */
async function ensureSdk(): Promise<string> {
  const python = join(VENV, 'bin', 'python');
  const marker = join(VENV, '.installed');
  if (existsSync(marker)) return python;
  rmSync(VENV, { recursive: true, force: true });
  mkdirSync(dirname(VENV), { recursive: true });
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? homedir() };
  const venv = await run(PYTHON, ['-m', 'venv', VENV], env);
  if (venv.code !== 0) throw new Error(`${PYTHON} -m venv failed: ${venv.stderr}`);
  let pip: ProcessRun | undefined;
  for (let attempt = 0; attempt < 2 && pip?.code !== 0; attempt++) {
    pip = await run(
      python,
      ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', SDK],
      env,
      240_000,
    );
  }
  if (pip?.code !== 0) throw new Error(`pip install ${SDK} failed: ${pip?.stderr}`);
  writeFileSync(marker, `${SDK}\n`);
  return python;
}

const SCRIPT = `
import asyncio, json, time
from parallelworks_client import Client
async def main():
    async with Client.from_credential_config(cli_command="keyward") as client:
        res = await client.get("/api/auth/whoami")
        auth = client._config.auth
        print(json.dumps({"status": res.status_code, "body": res.text.strip(), "auth": type(auth).__name__,
                          "expires_in": round(auth._expires_at - time.time()) if auth._expires_at else None}))
asyncio.run(main())
`;

let k: Keyward;
let alice: Browser;
let python: string;
let rotations = 0;
const scriptFile = join(mkdtempSync(join(tmpdir(), 'keyward-sdk-')), 'whoami.py');
writeFileSync(scriptFile, SCRIPT);

beforeAll(async () => {
  python = await ensureSdk();
  k = await startKeyward({ deviceFlow: { intervalSeconds: 1 } });
  await createUser(k, 'Alice', { org: 'acme' });
  alice = await signedInBrowser(k.baseUrl, 'alice', PASSWORD);
  k.container.provider.on('grant.success', (ctx: KoaContextWithOIDC) => {
    if (ctx.oidc.params?.grant_type === 'refresh_token') rotations++;
  });
}, 300_000);
afterAll(async () => k?.stop());

interface SdkResult {
  status: number;
  body: string;
  auth: string;
  expires_in: number | null;
}
async function sdkWhoami(home: string): Promise<SdkResult> {
  const out = await run(python, [scriptFile], { PATH, HOME: home });
  if (out.code !== 0) throw new Error(`the SDK failed:\n${out.stderr}`);
  return JSON.parse(out.stdout) as SdkResult;
}

test('Client.from_credential_config(cli_command="keyward") uses a `keyward auth login` through CLIAuth, renewal included', async () => {
  const home = mkdtempSync(join(tmpdir(), 'keyward-sdk-home-'));
  const login = run(
    'keyward',
    ['auth', 'login', '--server', k.baseUrl, '--device-name', 'python-sdk'],
    { PATH, HOME: home },
  );
  await approve(alice, k.issuer, (await codeFrom(login.child)).userCode);
  expect((await login).code).toBe(0);
  const file = join(home, '.config', 'pw', 'credentials');
  const creds = () =>
    JSON.parse(readFileSync(file, 'utf8')) as {
      currentIdentity: string;
      identities: Record<string, { token: string; oauth: { expiresAt: string } }>;
    };
  const nearExpiry = (seconds: number) => {
    const c = creds();
    c.identities[c.currentIdentity].oauth.expiresAt = new Date(
      Date.now() + seconds * 1000,
    ).toISOString();
    writeFileSync(file, JSON.stringify(c));
  };

  const first = await sdkWhoami(home);
  expect(first).toMatchObject({ status: 200, body: 'user:Alice', auth: 'CLIAuth' });
  expect(first.expires_in).toBeGreaterThan(3500);

  // 50 s left: inside the SDK's 60 s margin, so it asks the CLI, which renews (its window is 2 min).
  const before = creds().identities[creds().currentIdentity].token;
  nearExpiry(50);
  rotations = 0;
  const renewed = await sdkWhoami(home);
  expect(renewed).toMatchObject({ status: 200, body: 'user:Alice' });
  expect(renewed.expires_in).toBeGreaterThan(3500);
  expect(rotations).toBe(1);
  expect(creds().identities[creds().currentIdentity].token).not.toBe(before);

  // Eight SDK processes at once near expiry: the CLI's lock makes it one rotation, and all are served.
  nearExpiry(30);
  const all = await atOnce(8, () => sdkWhoami(home));
  for (const r of all) expect(r).toMatchObject({ status: 200, body: 'user:Alice' });
  expect(rotations).toBe(2);
}, 180_000);
