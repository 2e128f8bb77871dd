/**
 * A minimal browser over fetch: a cookie jar, manual redirects, and the real sign-in form
 * (CSRF token included), so flows run through the same pages a person uses.
 */
export class Browser {
  readonly cookies = new Map<string, string>();
  ip?: string;

  #store(res: Response): void {
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';');
      const i = pair.indexOf('=');
      const name = pair.slice(0, i).trim();
      const value = pair.slice(i + 1).trim();
      const expired = attrs.some((a) => /expires=Thu, 01 Jan 1970/i.test(a)) || value === '';
      if (expired) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  /**
   * Like a browser on a page of the URL's own origin: the cookie jar, and on unsafe methods the
   * `Origin` and `Sec-Fetch-Site: same-origin` a browser sends (unless the caller sets them; a
   * cross-site test sets its own).
   */
  async fetch(url: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.cookies.size)
      headers.set('cookie', [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '));
    if (!headers.has('accept')) headers.set('accept', 'text/html');
    if (!['GET', 'HEAD', 'OPTIONS'].includes((init.method ?? 'GET').toUpperCase())) {
      if (!headers.has('origin')) headers.set('origin', new URL(url).origin);
      if (!headers.has('sec-fetch-site')) headers.set('sec-fetch-site', 'same-origin');
    }
    const res = await fetch(url, { ...init, headers, redirect: 'manual' });
    this.#store(res);
    return res;
  }

  /** Follows redirects until a non-redirect answer or a URL matching `stopAt`. */
  async follow(
    url: string,
    stopAt?: (u: string) => boolean,
    init: RequestInit = {},
  ): Promise<{ res: Response; url: string }> {
    let current = url;
    let res = await this.fetch(current, init);
    for (let i = 0; i < 15 && res.status >= 300 && res.status < 400; i++) {
      current = new URL(res.headers.get('location')!, current).toString();
      if (stopAt?.(current)) return { res, url: current };
      res = await this.fetch(current);
    }
    return { res, url: current };
  }

  async postForm(url: string, form: Record<string, string>): Promise<Response> {
    return this.fetch(url, {
      method: 'POST',
      body: new URLSearchParams(form),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
  }
}

export function formField(html: string, name: string): string {
  const m =
    new RegExp(`name="${name}"[^>]*value="([^"]*)"`).exec(html) ??
    new RegExp(`value="([^"]*)"[^>]*name="${name}"`).exec(html);
  if (!m) throw new Error(`no field ${name} in page:\n${html.slice(0, 500)}`);
  return m[1].replace(/&amp;/g, '&');
}

export function formAction(html: string, contains: string): string {
  const m = new RegExp(`action="([^"]*${contains}[^"]*)"`).exec(html);
  if (!m) throw new Error(`no form posting to *${contains}*`);
  return m[1].replace(/&amp;/g, '&');
}

/**
 * From an authorization URL: follows to the sign-in page, submits the form, and follows the
 * redirects until the client's redirect URI. Returns the callback URL (with code and state).
 */
export async function signIn(
  browser: Browser,
  authorizeUrl: string,
  username: string,
  password: string,
  redirectPrefix: string,
): Promise<string> {
  const { res, url } = await browser.follow(authorizeUrl, (u) => u.startsWith(redirectPrefix));
  if (url.startsWith(redirectPrefix)) return url; // already signed in
  const html = await res.text();
  if (res.status !== 200)
    throw new Error(`sign-in page answered ${res.status}: ${html.slice(0, 300)}`);
  const action = new URL(formAction(html, '/login'), url).toString();
  const posted = await browser.postForm(action, {
    _csrf: formField(html, '_csrf'),
    username,
    password,
  });
  if (posted.status !== 303)
    throw new Error(`sign-in answered ${posted.status}: ${(await posted.text()).slice(0, 500)}`);
  const next = new URL(posted.headers.get('location')!, action).toString();
  const done = await browser.follow(next, (u) => u.startsWith(redirectPrefix));
  if (!done.url.startsWith(redirectPrefix))
    throw new Error(
      `sign-in ended at ${done.url} (${done.res.status}): ${(await done.res.text()).slice(0, 500)}`,
    );
  return done.url;
}

/** A browser signed in to Keyward itself (through its home page's sign-in, i.e. the real pages). */
export async function signedInBrowser(
  baseUrl: string,
  username: string,
  password: string,
): Promise<Browser> {
  const browser = new Browser();
  const callback = await signIn(
    browser,
    `${baseUrl}/signin`,
    username,
    password,
    `${baseUrl}/signin/callback`,
  );
  const done = await browser.fetch(callback);
  if (done.status !== 302) throw new Error(`sign-in callback answered ${done.status}`);
  return browser;
}
