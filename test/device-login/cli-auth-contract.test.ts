/**
 * The `keyward` CLI as the platform's SDKs use it (contract §5.3 and §5.4), as real processes:
 * - `keyward auth login` writes the file the SDKs read by default (~/.config/pw/credentials);
 * - CLIAuth exactly as §5.4 describes: `keyward` looked up on PATH (no relative entries), run as
 *   `keyward auth token --print -o json --context <ctx>` without PW_API_KEY and within 60 s, its
 *   stdout parsed as an RFC 6749 §5.1 response; renewal inside the CLI's 2-minute window, and 8
 *   concurrent runs near expiry rotating the refresh token once (the CLI's file lock);
 * - the credentials file's resolution order ($PW_CREDENTIALS_DIR, $XDG_CONFIG_HOME, ~/.config),
 *   and the move of the CLI's former ~/.config/keyward/credentials (once, even when 8 runs race).
 */
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, isAbsolute, join } from 'node:path';
import type { KoaContextWithOIDC } from 'oidc-provider';
import { signedInBrowser, type Browser } from '../helpers/browserless.ts';
import { createUser, PASSWORD, startKeyward, type Keyward } from '../helpers/keyward.ts';
import { approve, CLI_BIN, codeFrom } from '../helpers/device.ts';
import { atOnce } from '../helpers/at-once.ts';
import { runProcess, type ProcessRun } from '../helpers/process.ts';

let k: Keyward;
let alice: Browser;
let rotations = 0;

beforeAll(async () => {
  k = await startKeyward({ deviceFlow: { intervalSeconds: 1 } });
  await createUser(k, 'Alice', { org: 'acme' });
  alice = await signedInBrowser(k.baseUrl, 'alice', PASSWORD);
  k.container.provider.on('grant.success', (ctx: KoaContextWithOIDC) => {
    if (ctx.oidc.params?.grant_type === 'refresh_token') rotations++;
  });
});
afterAll(async () => k?.stop());

/** A directory holding only `keyward` (a link to bin/keyward.js, as `npm link` or a global install makes). */
const binDir = mkdtempSync(join(tmpdir(), 'keyward-bin-'));
symlinkSync(CLI_BIN, join(binDir, 'keyward'));
/** PATH as a user has it: the system's `node` (maybe older than 22.18) first, Node 24 as a last resort. */
const PATH = [binDir, '/usr/local/bin', '/usr/bin', '/bin', dirname(process.execPath)].join(
  delimiter,
);

/** Go's exec.LookPath, as the SDKs use it: the first match on PATH, relative entries refused. */
function lookPath(command: string, path: string): string {
  for (const dir of path.split(delimiter)) {
    if (!dir || !isAbsolute(dir)) continue;
    if (existsSync(join(dir, command))) return join(dir, command);
  }
  throw new Error(`${command}: not found on PATH`);
}

const run = runProcess;

interface TokenResponse {
  access_token: string;
  token_type: string;
  expires_in?: number;
}

/** What the SDKs' CLIAuth does to get a token (contract §5.4); throws where the SDK would raise. */
async function cliAuth(
  env: Record<string, string>,
  context?: string,
): Promise<TokenResponse & { run: ProcessRun }> {
  const fullEnv: NodeJS.ProcessEnv = { PATH, PW_API_KEY: 'pwt_removed-by-the-sdk', ...env };
  delete fullEnv.PW_API_KEY;
  const exe = lookPath('keyward', fullEnv.PATH!);
  const out = await run(
    exe,
    ['auth', 'token', '--print', '-o', 'json', ...(context ? ['--context', context] : [])],
    fullEnv,
    60_000,
  );
  if (out.code !== 0) throw new Error(`exit status ${out.code}: ${out.stderr.trim()}`);
  const response = JSON.parse(out.stdout) as Record<string, unknown>;
  const token = response.access_token;
  if (typeof token !== 'string' || !token || /\s/.test(token))
    throw new Error('printed no single access_token');
  if (typeof response.token_type !== 'string' || response.token_type.toLowerCase() !== 'bearer')
    throw new Error(`token_type ${String(response.token_type)}`);
  if (response.expires_in !== undefined && typeof response.expires_in !== 'number')
    throw new Error('expires_in is not a number');
  return { ...(response as unknown as TokenResponse), run: out };
}

interface Identity {
  token: string;
  server?: string;
  name?: string;
  oauth: { expiresAt: string; refreshToken?: string };
  [other: string]: unknown;
}
interface Creds {
  currentIdentity: string;
  identities: Record<string, Identity>;
  [other: string]: unknown;
}
const defaultFile = (home: string) => join(home, '.config', 'pw', 'credentials');
const readCreds = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as Creds;
function writeCreds(file: string, creds: Creds): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  writeFileSync(file, JSON.stringify(creds), { mode: 0o600 });
}
/** A saved sign-in whose token is good for an hour, so printing it needs no server. */
const saved = (token: string, extra: Record<string, unknown> = {}): Creds => ({
  currentIdentity: 'ctx',
  identities: {
    ctx: {
      token,
      server: 'http://127.0.0.1:1',
      name: 'ctx',
      oauth: { expiresAt: new Date(Date.now() + 3600_000).toISOString() },
      ...extra,
    },
  },
});
const newHome = () => mkdtempSync(join(tmpdir(), 'keyward-home-'));

/** `keyward auth login` found on PATH, with only HOME set, approved in Alice's browser; answers the context. */
async function authLogin(home: string): Promise<string> {
  const login = run(
    lookPath('keyward', PATH),
    ['auth', 'login', '--server', k.baseUrl, '--device-name', 'sdk-laptop'],
    { PATH, HOME: home },
    60_000,
  );
  await approve(alice, k.issuer, (await codeFrom(login.child)).userCode);
  const done = await login;
  if (done.code !== 0) throw new Error(`auth login failed: ${done.stderr}`);
  return readCreds(defaultFile(home)).currentIdentity;
}

describe('CLIAuth (contract §5.4) against a real sign-in', () => {
  test('auth login stores the sign-in where the SDKs look by default; auth token --print -o json is an RFC 6749 §5.1 response', async () => {
    const home = newHome();
    const ctx = await authLogin(home);
    const creds = readCreds(defaultFile(home));
    expect(creds.identities[ctx]).toMatchObject({
      server: k.baseUrl,
      oauth: { clientId: 'pw-cli' },
    });
    expect(existsSync(join(home, '.config', 'keyward'))).toBe(false);

    const t = await cliAuth({ HOME: home }, ctx);
    expect(
      Object.keys(t)
        .filter((key) => key !== 'run')
        .sort(),
    ).toEqual(['access_token', 'expires_in', 'token_type']);
    expect(t.token_type).toBe('Bearer');
    expect(t.access_token).toBe(creds.identities[ctx].token);
    expect(t.expires_in).toBeGreaterThan(3500);
    expect(t.run.stderr).toBe('');
    expect(t.run.ms).toBeLessThan(60_000);
    expect(
      (
        await fetch(`${k.issuer}/userinfo`, {
          headers: { authorization: `Bearer ${t.access_token}` },
        })
      ).status,
    ).toBe(200);

    // The SDK names no context when the file's current one is meant.
    expect((await cliAuth({ HOME: home })).access_token).toBe(t.access_token);
    // An unknown context: a failure the SDK reports (non-zero exit, reason on stderr, nothing on stdout).
    await expect(cliAuth({ HOME: home }, 'nope')).rejects.toThrow(
      /exit status 4: error: No context named "nope"/,
    );
  }, 90_000);

  test("inside the CLI's 2-minute window the token is renewed; 8 concurrent CLIAuth runs rotate the refresh token once", async () => {
    const home = newHome();
    const ctx = await authLogin(home);
    const file = defaultFile(home);
    const nearExpiry = (seconds: number) => {
      const c = readCreds(file);
      c.identities[ctx].oauth.expiresAt = new Date(Date.now() + seconds * 1000).toISOString();
      writeFileSync(file, JSON.stringify(c));
    };
    const first = readCreds(file).identities[ctx];

    // 100 s left: the SDK asks (its cache ends 60 s before expiry, or it is a new process); the CLI renews (2 min).
    nearExpiry(100);
    rotations = 0;
    const renewed = await cliAuth({ HOME: home }, ctx);
    expect(rotations).toBe(1);
    expect(renewed.access_token).not.toBe(first.token);
    expect(renewed.expires_in).toBeGreaterThan(3500);
    // Outside the window nothing is renewed.
    expect((await cliAuth({ HOME: home }, ctx)).access_token).toBe(renewed.access_token);
    expect(rotations).toBe(1);

    // Eight SDK processes whose caches ran out together.
    nearExpiry(30);
    const second = readCreds(file).identities[ctx];
    const all = await atOnce(8, () => cliAuth({ HOME: home }, ctx));
    expect(rotations).toBe(2);
    expect(new Set(all.map((t) => t.access_token)).size).toBe(1);
    for (const t of all) expect(t.expires_in).toBeGreaterThan(3500);
    const after = readCreds(file).identities[ctx];
    expect(after.token).toBe(all[0].access_token);
    expect(after.oauth.refreshToken).not.toBe(second.oauth.refreshToken);
    expect(existsSync(`${file}.lock`)).toBe(false);
    // Still signed in: the token works and the one refresh token in the file rotates again.
    expect(
      (await fetch(`${k.issuer}/userinfo`, { headers: { authorization: `Bearer ${after.token}` } }))
        .status,
    ).toBe(200);
    nearExpiry(30);
    await cliAuth({ HOME: home }, ctx);
    expect(rotations).toBe(3);
  }, 120_000);
});

describe('the credentials file (contract §5.3)', () => {
  test('$PW_CREDENTIALS_DIR/.credentials, else $XDG_CONFIG_HOME/pw/credentials (only if absolute), else ~/.config/pw/credentials', async () => {
    const home = newHome();
    const xdg = mkdtempSync(join(tmpdir(), 'keyward-xdg-'));
    const pwDir = mkdtempSync(join(tmpdir(), 'keyward-pwdir-'));
    writeCreds(join(pwDir, '.credentials'), saved('tok-pw-dir'));
    writeCreds(join(xdg, 'pw', 'credentials'), saved('tok-xdg'));
    writeCreds(defaultFile(home), saved('tok-home'));

    expect(
      (await cliAuth({ HOME: home, XDG_CONFIG_HOME: xdg, PW_CREDENTIALS_DIR: pwDir })).access_token,
    ).toBe('tok-pw-dir');
    expect((await cliAuth({ HOME: home, XDG_CONFIG_HOME: xdg })).access_token).toBe('tok-xdg');
    expect((await cliAuth({ HOME: home, XDG_CONFIG_HOME: 'relative/config' })).access_token).toBe(
      'tok-home',
    );
    expect((await cliAuth({ HOME: home })).access_token).toBe('tok-home');
    // A named directory without a file: no sign-in there, whatever the other locations hold.
    await expect(
      cliAuth({ HOME: home, PW_CREDENTIALS_DIR: mkdtempSync(join(tmpdir(), 'keyward-empty-')) }),
    ).rejects.toThrow(/exit status 4/);
  }, 60_000);

  test("the CLI's former ~/.config/keyward/credentials moves to the platform's file once, even when 8 runs race", async () => {
    const home = newHome();
    const legacy = join(home, '.config', 'keyward', 'credentials');
    writeCreds(legacy, {
      ...saved('tok-legacy', { organization: 'acme', futureField: { kept: true } }),
      writtenBy: 'keyward 0.1',
    });

    const all = await atOnce(8, () => cliAuth({ HOME: home }));
    for (const t of all) expect(t.access_token).toBe('tok-legacy');
    const notices = all.filter((t) => t.run.stderr.includes('moved your sign-ins'));
    expect(notices).toHaveLength(1);
    expect(notices[0].run.stderr).toContain(`from ${legacy} to ${defaultFile(home)}`);
    expect(existsSync(legacy)).toBe(false);
    const moved = readCreds(defaultFile(home));
    // Fields this CLI does not know are kept.
    expect(moved).toMatchObject({
      writtenBy: 'keyward 0.1',
      identities: { ctx: { organization: 'acme', futureField: { kept: true } } },
    });
    expect((await cliAuth({ HOME: home })).run.stderr).toBe('');
  }, 60_000);

  test("the platform's legacy ~/pw/.credentials is copied (and left in place) when the default file is missing", async () => {
    const home = newHome();
    const platformLegacy = join(home, 'pw', '.credentials');
    writeCreds(platformLegacy, saved('tok-pw-legacy'));
    const t = await cliAuth({ HOME: home });
    expect(t.access_token).toBe('tok-pw-legacy');
    expect(existsSync(platformLegacy)).toBe(true);
    expect(readCreds(defaultFile(home)).identities.ctx.token).toBe('tok-pw-legacy');
  }, 60_000);

  test('signing out of one context keeps the others and the fields other tools wrote', async () => {
    const home = newHome();
    const creds = saved('tok-keep', { organization: 'acme', keychainAccount: 'ctx' });
    creds.identities.gone = {
      token: 'tok-gone',
      server: 'http://127.0.0.1:1',
      name: 'gone',
      oauth: { expiresAt: new Date(Date.now() + 3600_000).toISOString() },
    };
    writeCreds(defaultFile(home), { ...creds, extra: [1, 2] });
    const out = await run(
      lookPath('keyward', PATH),
      ['auth', 'logout', '--force', '--context', 'gone'],
      { PATH, HOME: home },
      60_000,
    );
    expect(out.code).toBe(0);
    const after = readCreds(defaultFile(home));
    expect(Object.keys(after.identities)).toEqual(['ctx']);
    expect(after).toMatchObject({
      currentIdentity: 'ctx',
      extra: [1, 2],
      identities: { ctx: { organization: 'acme', keychainAccount: 'ctx' } },
    });
  }, 60_000);
});
