/** Passkey steps over HTTP with a software authenticator: register through the REST API, sign in on the sign-in page. */
import { Browser, signedInBrowser } from '../helpers/browserless.ts';
import { PASSWORD, type Keyward } from '../helpers/keyward.ts';
import { api } from '../helpers/mfa.ts';
import { SoftAuthenticator, type SoftOptions } from './soft-authenticator.ts';

export function softAuthenticator(k: Keyward, o: Partial<SoftOptions> = {}): SoftAuthenticator {
  const url = new URL(k.baseUrl);
  return new SoftAuthenticator({ origin: url.origin, rpId: url.hostname, ...o });
}

/** Signs in with the password and registers a passkey; answers the browser, the authenticator and the API's answer. */
export async function userWithPasskey(
  k: Keyward,
  username: string,
  o: Partial<SoftOptions> & { name?: string } = {},
) {
  const browser = await signedInBrowser(k.baseUrl, username, PASSWORD);
  const auth = softAuthenticator(k, o);
  const options = await api(browser, k.baseUrl, 'POST', '/api/sso/passkeys/options');
  if (options.status !== 200)
    throw new Error(`options answered ${options.status}: ${JSON.stringify(options.body)}`);
  const done = await api(browser, k.baseUrl, 'POST', '/api/sso/passkeys', {
    name: o.name ?? 'Laptop',
    response: auth.create(options.body),
  });
  return { browser, auth, options: options.body, done };
}

export interface PasskeyPage {
  browser: Browser;
  url: string;
  uid: string;
  csrf: string;
}

/** Follows `start` to the sign-in page (unless it ends at `stopAt` first) and reads its passkey box. */
export async function openSignIn(
  start: string,
  stopAt: (u: string) => boolean,
  browser = new Browser(),
): Promise<PasskeyPage> {
  const { res, url } = await browser.follow(start, stopAt);
  const html = await res.text();
  const uid = /\/interaction\/([^/"]+)\/passkey\/options/.exec(html)?.[1];
  const csrf = /data-webauthn-signin[^>]*data-csrf="([^"]+)"/.exec(html)?.[1];
  if (!uid || !csrf)
    throw new Error(`no passkey button at ${url} (${res.status}): ${html.slice(0, 400)}`);
  return { browser, url, uid, csrf };
}

export async function postJson(page: PasskeyPage, path: string, body: unknown = {}) {
  const res = await page.browser.fetch(new URL(path, page.url).toString(), {
    method: 'POST',
    body: JSON.stringify(body),
    headers: {
      'content-type': 'application/json',
      accept: 'application/json',
      'x-csrf-token': page.csrf,
    },
  });
  return {
    status: res.status,
    body: (await res.json()) as Record<string, unknown> & {
      message?: string;
      redirect?: string;
      challenge?: string;
    },
  };
}

export const signInOptions = async (page: PasskeyPage) =>
  (await postJson(page, `/interaction/${page.uid}/passkey/options`)).body;

/** "Sign in with a passkey": options, the authenticator's assertion (with `assertion` to tamper), the verification. */
export async function passkeySignIn(
  page: PasskeyPage,
  auth: SoftAuthenticator,
  assertion: Parameters<SoftAuthenticator['get']>[1] = {},
) {
  const options = await signInOptions(page);
  return postJson(page, `/interaction/${page.uid}/passkey`, {
    response: auth.get(options.challenge!, assertion),
  });
}

/** After a successful passkey sign-in: follows its redirect to where the flow ends (`stopAt`). */
export async function followRedirect(
  page: PasskeyPage,
  redirect: string,
  stopAt: (u: string) => boolean,
): Promise<string> {
  return (await page.browser.follow(new URL(redirect, page.url).toString(), stopAt)).url;
}

/** Sudo mode ("confirm it's you") for a browser session, with the passkey as the security key. */
export async function sudoWithPasskey(
  k: Keyward,
  browser: Browser,
  auth: SoftAuthenticator,
): Promise<void> {
  const options = await api(browser, k.baseUrl, 'POST', '/api/sso/mfa/webauthn/authenticate');
  const res = await api(browser, k.baseUrl, 'POST', '/api/account/verify', {
    method: 'webauthn',
    response: auth.get(options.body.challenge),
  });
  if (res.status !== 204)
    throw new Error(`sudo answered ${res.status}: ${JSON.stringify(res.body)}`);
}

/** A browser signed in to Keyward itself with the passkey (home page's sign-in, no username). */
export async function passkeyBrowser(k: Keyward, auth: SoftAuthenticator): Promise<Browser> {
  const atCallback = (u: string) => u.startsWith(`${k.baseUrl}/signin/callback`);
  const page = await openSignIn(`${k.baseUrl}/signin`, atCallback);
  const signedIn = await passkeySignIn(page, auth);
  if (signedIn.status !== 200)
    throw new Error(`passkey sign-in answered ${signedIn.status}: ${signedIn.body.message}`);
  const done = await page.browser.fetch(
    await followRedirect(page, signedIn.body.redirect!, atCallback),
  );
  if (done.status !== 302) throw new Error(`sign-in callback answered ${done.status}`);
  return page.browser;
}
