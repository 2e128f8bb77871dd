/** Helpers for 2-step verification tests: codes from oathtool (independent of otplib), sign-in through the real pages. */
import { execFileSync } from 'node:child_process';
import * as oidc from 'openid-client';
import { Browser, formAction, formField } from './browserless.ts';
import type { Keyward } from './keyward.ts';
import { RP_CALLBACK, WEB_SECRET } from './clients.ts';

export function oathtool(secret: string, epochSeconds: number): string {
  return execFileSync('oathtool', ['--totp', '-b', '--now', `@${epochSeconds}`, secret], {
    encoding: 'utf8',
  }).trim();
}

/** Moves the server clock to `second` seconds into a 30 s step (early, so a slow run stays in the step); answers the server's now (epoch seconds). */
export function alignClock(k: Keyward, second = 2): number {
  const now = Date.now() + k.clock.offsetMs;
  const into = Math.floor(now / 1000) % 30;
  k.clock.offsetMs += ((second - into + 30) % 30) * 1000 - (now % 1000);
  return Math.floor((Date.now() + k.clock.offsetMs) / 1000);
}

export async function webClient(k: Keyward): Promise<oidc.Configuration> {
  return oidc.discovery(new URL(k.issuer), 'test-web', WEB_SECRET, undefined, {
    execute: [oidc.allowInsecureRequests],
  });
}

export interface PendingSignIn {
  browser: Browser;
  /** Page after the password (the second step), or undefined when none was needed. */
  page?: { url: string; html: string; status: number };
  callback?: string;
  finish(callback: string): Promise<oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers>;
}

/** Starts an authorization for test-web and submits the password; stops at the second step (if any). */
export async function passwordStep(
  _k: Keyward,
  cfg: oidc.Configuration,
  username: string,
  password: string,
  extra: Record<string, string> = {},
  browser = new Browser(),
): Promise<PendingSignIn> {
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const url = oidc.buildAuthorizationUrl(cfg, {
    redirect_uri: RP_CALLBACK,
    scope: 'openid profile',
    state,
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    ...extra,
  });
  const finish = (callback: string) =>
    oidc.authorizationCodeGrant(cfg, new URL(callback), {
      pkceCodeVerifier: verifier,
      expectedState: state,
    });
  let { res, url: at } = await browser.follow(url.toString(), (u) => u.startsWith(RP_CALLBACK));
  if (at.startsWith(RP_CALLBACK)) return { browser, callback: at, finish };
  let html = await res.text();
  if (html.includes('/login"')) {
    const posted = await browser.postForm(new URL(formAction(html, '/login'), at).toString(), {
      _csrf: formField(html, '_csrf'),
      username,
      password,
    });
    if (posted.status !== 303)
      return {
        browser,
        page: { url: at, html: await posted.text(), status: posted.status },
        finish,
      };
    ({ res, url: at } = await browser.follow(
      new URL(posted.headers.get('location')!, at).toString(),
      (u) => u.startsWith(RP_CALLBACK),
    ));
    if (at.startsWith(RP_CALLBACK)) return { browser, callback: at, finish };
    html = await res.text();
  }
  return { browser, page: { url: at, html, status: res.status }, finish };
}

/** Submits a code on the second-step page; answers the callback URL on success, or the error page. */
export async function submitCode(
  s: PendingSignIn,
  kind: 'otp' | 'recovery',
  code: string,
): Promise<{ callback?: string; status: number; html: string }> {
  const page = s.page!;
  const action = new URL(
    `${new URL(page.url).pathname.replace(/\/mfa.*$/, '')}/mfa/${kind}`,
    page.url,
  ).toString();
  const res = await s.browser.postForm(action, { _csrf: formField(page.html, '_csrf'), code });
  if (res.status !== 303) return { status: res.status, html: await res.text() };
  const done = await s.browser.follow(
    new URL(res.headers.get('location')!, action).toString(),
    (u) => u.startsWith(RP_CALLBACK),
  );
  return {
    callback: done.url.startsWith(RP_CALLBACK) ? done.url : undefined,
    status: 303,
    html: done.url.startsWith(RP_CALLBACK) ? '' : await done.res.text(),
  };
}

/** JSON call with a browser session. */
export async function api(
  browser: Browser,
  baseUrl: string,
  method: string,
  path: string,
  body?: unknown,
) {
  const res = await browser.fetch(`${baseUrl}${path}`, {
    method,
    headers: {
      accept: 'application/json',
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : null) as any }; // eslint-disable-line @typescript-eslint/no-explicit-any
}
