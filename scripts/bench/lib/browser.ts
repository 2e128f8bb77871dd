/**
 * A minimal browser over fetch (cookie jar, manual redirects) and one complete password sign-in as
 * a person does it, for any OpenID provider: authorize (PKCE S256) → the sign-in page → its form
 * (the form with a password field; hidden fields kept, username and password filled in) → the
 * redirects back to the client → the code exchanged for tokens at the token endpoint.
 */
import { createHash, randomBytes } from 'node:crypto';
import { BENCH_PASSWORD, CALLBACK, basicAuth, type IdpTarget } from './targets.ts';

export class Browser {
  readonly cookies = new Map<string, string>();

  async fetch(url: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.cookies.size)
      headers.set('cookie', [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '));
    if (!headers.has('accept')) headers.set('accept', 'text/html');
    // Like a browser on its own page: unsafe requests say where they come from (Keyward checks it).
    if (!['GET', 'HEAD'].includes((init.method ?? 'GET').toUpperCase())) {
      if (!headers.has('origin')) headers.set('origin', new URL(url).origin);
      if (!headers.has('sec-fetch-site')) headers.set('sec-fetch-site', 'same-origin');
    }
    const res = await fetch(url, { ...init, headers, redirect: 'manual' });
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';');
      const i = pair.indexOf('=');
      const name = pair.slice(0, i).trim();
      const value = pair.slice(i + 1).trim();
      const expired =
        value === '' || attrs.some((a) => /expires=Thu, 01 Jan 1970|max-age=0\b/i.test(a.trim()));
      if (expired) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return res;
  }

  /** Follows redirects until a non-redirect answer or a URL starting with `stopAt`. */
  async follow(
    url: string,
    stopAt: string,
    init: RequestInit = {},
  ): Promise<{ res: Response; url: string }> {
    let current = url;
    let res = await this.fetch(current, init);
    for (let i = 0; i < 15 && res.status >= 300 && res.status < 400; i++) {
      await res.body?.cancel();
      current = new URL(res.headers.get('location')!, current).toString();
      if (current.startsWith(stopAt)) return { res, url: current };
      res = await this.fetch(current);
    }
    return { res, url: current };
  }
}

const decode = (s: string) =>
  s
    .replace(/&amp;/g, '&')
    .replace(/&#x2F;/gi, '/')
    .replace(/&#47;/g, '/')
    .replace(/&quot;/g, '"');
const attr = (tag: string, name: string) =>
  new RegExp(`\\s${name}\\s*=\\s*"([^"]*)"`, 'i').exec(tag)?.[1];

/** The sign-in form of a page: its action and fields (hidden ones with their values, username and password filled). */
export function loginForm(
  html: string,
  pageUrl: string,
  username: string,
  password: string,
): { action: string; body: URLSearchParams } {
  const forms = html.match(/<form\b[\s\S]*?<\/form>/gi) ?? [];
  const form = forms.find((f) => /type\s*=\s*"password"/i.test(f));
  if (!form) throw new Error(`no sign-in form at ${pageUrl}: ${html.slice(0, 300)}`);
  const action = attr(/<form\b[^>]*>/i.exec(form)![0], 'action');
  if (!action) throw new Error(`sign-in form without action at ${pageUrl}`);
  const body = new URLSearchParams();
  for (const input of form.match(/<input\b[^>]*>/gi) ?? []) {
    const name = attr(input, 'name');
    if (!name) continue;
    const type = (attr(input, 'type') ?? 'text').toLowerCase();
    if (type === 'password') body.set(name, password);
    else if (name === 'username') body.set(name, username);
    else if (type === 'hidden') body.set(name, decode(attr(input, 'value') ?? ''));
  }
  return { action: new URL(decode(action), pageUrl).toString(), body };
}

/**
 * Follows `startUrl` to the sign-in page, submits it, and follows the redirects to a URL starting
 * with `stopAt`; answers that URL.
 */
export async function signInThroughForm(
  browser: Browser,
  startUrl: string,
  username: string,
  password: string,
  stopAt: string,
): Promise<string> {
  const page = await browser.follow(startUrl, stopAt);
  if (page.url.startsWith(stopAt)) return page.url;
  const html = await page.res.text();
  if (page.res.status !== 200)
    throw new Error(`sign-in page ${page.url} answered ${page.res.status}: ${html.slice(0, 300)}`);
  const form = loginForm(html, page.url, username, password);
  const posted = await browser.fetch(form.action, {
    method: 'POST',
    body: form.body,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });
  if (posted.status < 300 || posted.status >= 400) {
    throw new Error(
      `sign-in form answered ${posted.status}: ${(await posted.text()).slice(0, 400)}`,
    );
  }
  await posted.body?.cancel();
  const next = new URL(posted.headers.get('location')!, form.action).toString();
  if (next.startsWith(stopAt)) return next;
  const done = await browser.follow(next, stopAt);
  if (!done.url.startsWith(stopAt))
    throw new Error(
      `sign-in ended at ${done.url} (${done.res.status}): ${(await done.res.text()).slice(0, 400)}`,
    );
  return done.url;
}

/** One complete sign-in by a new browser: authorization code with PKCE, exchanged for tokens. */
export async function fullSignIn(t: IdpTarget, username: string): Promise<void> {
  const verifier = randomBytes(32).toString('base64url');
  const state = randomBytes(12).toString('base64url');
  const url = new URL(t.authorizeUrl);
  url.search = new URLSearchParams({
    client_id: t.clients.web.id,
    response_type: 'code',
    scope: 'openid profile email',
    redirect_uri: CALLBACK,
    state,
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
  }).toString();
  const callback = new URL(
    await signInThroughForm(new Browser(), url.toString(), username, BENCH_PASSWORD, CALLBACK),
  );
  const code = callback.searchParams.get('code');
  if (!code || callback.searchParams.get('state') !== state)
    throw new Error(`${t.name}: callback without code or state: ${callback}`);
  const res = await fetch(t.tokenUrl, {
    method: 'POST',
    headers: {
      authorization: basicAuth(t.clients.web),
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      redirect_uri: CALLBACK,
      code_verifier: verifier,
    }),
  });
  const body = (await res.json()) as { access_token?: string; id_token?: string };
  if (!body.access_token || !body.id_token)
    throw new Error(
      `${t.name}: code exchange answered ${res.status} ${JSON.stringify(body).slice(0, 300)}`,
    );
}
