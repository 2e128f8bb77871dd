/** Starts upstream-idp.ts as its own process (Node 24 from node_modules/.bin) and drives a browser through it. */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { generateKeyPairSync } from 'node:crypto';
import { Browser, formAction, formField } from '../helpers/browserless.ts';
import { freePort } from '../helpers/keyward.ts';

const NODE = fileURLToPath(new URL('../../node_modules/.bin/node', import.meta.url));
const SCRIPT = fileURLToPath(new URL('./upstream-idp.ts', import.meta.url));

export interface UpstreamAccount {
  password: string;
  sub: string;
  claims: Record<string, unknown>;
  amr?: string[];
  acr?: string;
}
export interface Upstream {
  issuer: string;
  child: ChildProcess;
  tamper(mode: 'iss' | 'aud' | 'nonce' | 'none'): Promise<void>;
  stop(): Promise<void>;
}

export async function startUpstream(
  clients: Record<string, unknown>[],
  accounts: Record<string, UpstreamAccount>,
): Promise<Upstream> {
  const port = await freePort();
  const child = spawn(NODE, ['--no-warnings', SCRIPT], {
    env: {
      PATH: process.env.PATH,
      NODE_ENV: 'test',
      UPSTREAM_IDP_CONFIG: JSON.stringify({ port, clients, accounts }),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
  });
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`upstream IdP did not start: ${err}`)), 20_000);
    child.stdout!.on('data', (d: Buffer) => {
      if (d.toString().includes('listening')) {
        clearTimeout(t);
        resolve();
      }
    });
    child.on('exit', (code) => {
      clearTimeout(t);
      reject(new Error(`upstream IdP exited ${code}: ${err}`));
    });
  });
  const issuer = `http://127.0.0.1:${port}`;
  return {
    issuer,
    child,
    async tamper(mode) {
      await fetch(`${issuer}/_test/tamper?mode=${mode}`, { method: 'POST' });
    },
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** An RSA key pair for private_key_jwt: the PEM for Keyward, the public JWK for the upstream client. */
export function clientKeyPair(): { pem: string; jwk: Record<string, unknown> } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    pem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    jwk: { ...publicKey.export({ format: 'jwk' }), use: 'sig', alg: 'RS256' },
  };
}

export interface HopResult {
  url: string;
  status: number;
  html: string;
}

/**
 * From a Keyward sign-in page: types the identifier, picks the method's button, signs in at the
 * upstream IdP, and follows the redirects until `stopAt` (or a page). Answers where it stopped.
 */
export async function signInUpstream(
  browser: Browser,
  loginPage: { url: string; html: string },
  identifier: string,
  method: string,
  upstream: { username: string; password: string },
  stopAt: (u: string) => boolean,
): Promise<HopResult> {
  const action = new URL(formAction(loginPage.html, '/login'), loginPage.url).toString();
  const choose = await browser.postForm(action, {
    _csrf: formField(loginPage.html, '_csrf'),
    username: identifier,
    password: '',
    next: 'methods',
  });
  const chooseHtml = await choose.text();
  if (choose.status !== 200)
    throw new Error(`methods page answered ${choose.status}: ${chooseHtml.slice(0, 300)}`);
  const m = new RegExp(`action="(/interaction/[^"]+/sso/[^"]+)" data-method="${method}"`).exec(
    chooseHtml,
  );
  if (!m) throw new Error(`no "${method}" button on the methods page:\n${chooseHtml}`);
  const started = await browser.postForm(new URL(m[1], action).toString(), {
    _csrf: formField(chooseHtml, '_csrf'),
  });
  if (started.status !== 303)
    throw new Error(
      `starting the upstream sign-in answered ${started.status}: ${(await started.text()).slice(0, 300)}`,
    );
  return upstreamLogin(browser, started.headers.get('location')!, upstream, stopAt);
}

/** At the upstream authorization URL: its sign-in form, then redirects until `stopAt` or a page. */
export async function upstreamLogin(
  browser: Browser,
  authorizeUrl: string,
  upstream: { username: string; password: string },
  stopAt: (u: string) => boolean,
): Promise<HopResult> {
  const page = await browser.follow(authorizeUrl, stopAt);
  if (stopAt(page.url)) return { url: page.url, status: page.res.status, html: '' };
  const html = await page.res.text();
  if (page.res.status !== 200) return { url: page.url, status: page.res.status, html };
  const posted = await browser.postForm(new URL(formAction(html, '/login'), page.url).toString(), {
    username: upstream.username,
    password: upstream.password,
  });
  if (posted.status >= 400)
    return { url: page.url, status: posted.status, html: await posted.text() };
  const done = await browser.follow(
    new URL(posted.headers.get('location')!, page.url).toString(),
    stopAt,
  );
  return {
    url: done.url,
    status: done.res.status,
    html: stopAt(done.url) ? '' : await done.res.text(),
  };
}
