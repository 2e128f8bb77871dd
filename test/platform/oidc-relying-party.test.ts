/**
 * A real relying party (openid-client 6) against a running Keyward on a real database:
 * discovery, code + PKCE with the real sign-in form, ID token validation, userinfo, refresh
 * (with rotation and reuse detection for the public client), revocation, introspection and
 * RP-initiated logout.
 */
import * as oidc from 'openid-client';
import { Browser, formField, signIn } from '../helpers/browserless.ts';
import { createUser, PASSWORD, startKeyward, type Keyward } from '../helpers/keyward.ts';
import { RP_CALLBACK, RP_LOGOUT, RS_SECRET, WEB_SECRET, testClients } from '../helpers/clients.ts';

const insecure = { execute: [oidc.allowInsecureRequests] };
let k: Keyward;

beforeAll(async () => {
  k = await startKeyward({ clients: testClients });
  await createUser(k, 'Alice');
});
afterAll(async () => k?.stop());

async function authorize(
  cfg: oidc.Configuration,
  browser: Browser,
  redirectUri: string,
  extra: Record<string, string> = {},
) {
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const nonce = oidc.randomNonce();
  const url = oidc.buildAuthorizationUrl(cfg, {
    redirect_uri: redirectUri,
    scope: 'openid profile email offline_access',
    state,
    nonce,
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    prompt: 'consent',
    ...extra,
  });
  const callback = await signIn(browser, url.toString(), 'alice', PASSWORD, redirectUri);
  return oidc.authorizationCodeGrant(cfg, new URL(callback), {
    pkceCodeVerifier: verifier,
    expectedState: state,
    expectedNonce: nonce,
  });
}

test('discovery advertises the contract endpoints and S256 only', async () => {
  const cfg = await oidc.discovery(new URL(k.issuer), 'test-web', WEB_SECRET, undefined, insecure);
  const meta = cfg.serverMetadata();
  expect(meta.issuer).toBe(`${k.baseUrl}/api/oidc`);
  expect(meta.authorization_endpoint).toBe(`${k.issuer}/authorize`);
  expect(meta.introspection_endpoint).toBe(`${k.issuer}/introspect`);
  expect(meta.revocation_endpoint).toBe(`${k.issuer}/revoke`);
  expect(meta.end_session_endpoint).toBe(`${k.issuer}/end_session`);
  expect(meta.code_challenge_methods_supported).toEqual(['S256']);
  expect(meta.grant_types_supported).not.toContain('implicit');
  const jwks = (await (await fetch(meta.jwks_uri!)).json()) as { keys: Record<string, unknown>[] };
  expect(jwks.keys.length).toBeGreaterThan(0);
  for (const key of jwks.keys) expect(key.d).toBeUndefined();
});

test('confidential web client: code + PKCE, ID token, userinfo, refresh, introspection, revocation, logout', async () => {
  const cfg = await oidc.discovery(new URL(k.issuer), 'test-web', WEB_SECRET, undefined, insecure);
  const rs = await oidc.discovery(new URL(k.issuer), 'test-rs', RS_SECRET, undefined, insecure);
  const browser = new Browser();
  const tokens = await authorize(cfg, browser, RP_CALLBACK);

  const claims = tokens.claims()!;
  expect(claims.iss).toBe(k.issuer);
  expect(claims.aud).toBe('test-web');
  expect(claims.amr).toEqual(['pwd']);
  expect(typeof claims.auth_time).toBe('number');

  const info = await oidc.fetchUserInfo(cfg, tokens.access_token, claims.sub);
  expect(info).toMatchObject({
    sub: claims.sub,
    preferred_username: 'Alice',
    email: 'alice@example.com',
    name: 'Alice Example',
  });

  const intro = await oidc.tokenIntrospection(rs, tokens.access_token);
  expect(intro).toMatchObject({ active: true, sub: claims.sub, client_id: 'test-web' });

  const refreshed = await oidc.refreshTokenGrant(cfg, tokens.refresh_token!);
  expect(refreshed.access_token).toBeTruthy();
  expect(refreshed.access_token).not.toBe(tokens.access_token);

  await oidc.tokenRevocation(cfg, refreshed.access_token);
  expect((await oidc.tokenIntrospection(rs, refreshed.access_token)).active).toBe(false);
  await expect(oidc.fetchUserInfo(cfg, refreshed.access_token, claims.sub)).rejects.toThrow();

  // RP-initiated logout: the confirmation page, its form (with the provider's xsrf), the redirect back.
  const endUrl = oidc.buildEndSessionUrl(cfg, {
    id_token_hint: tokens.id_token!,
    post_logout_redirect_uri: RP_LOGOUT,
    state: 'bye',
  });
  const page = await browser.fetch(endUrl.toString());
  const html = await page.text();
  expect(page.status).toBe(200);
  expect(html).toContain('Sign out?');
  const done = await browser.postForm(`${k.issuer}/end_session/confirm`, {
    xsrf: formField(html, 'xsrf'),
    logout: 'yes',
  });
  expect(done.status).toBe(303);
  expect(done.headers.get('location')).toBe(`${RP_LOGOUT}?state=bye`);

  // The session is gone: a silent authorization now needs a sign-in.
  const silent = oidc.buildAuthorizationUrl(cfg, {
    redirect_uri: RP_CALLBACK,
    scope: 'openid',
    prompt: 'none',
    code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()),
    code_challenge_method: 'S256',
  });
  const { url } = await browser.follow(silent.toString(), (u) => u.startsWith(RP_CALLBACK));
  expect(new URL(url).searchParams.get('error')).toBe('login_required');
});

test('public client: PKCE is required and a reused refresh token revokes the whole family', async () => {
  const cfg = await oidc.discovery(new URL(k.issuer), 'test-cli', undefined, oidc.None(), insecure);
  const rs = await oidc.discovery(new URL(k.issuer), 'test-rs', RS_SECRET, undefined, insecure);

  // Without PKCE the request is refused.
  const noPkce = new URL(`${k.issuer}/authorize`);
  noPkce.search = new URLSearchParams({
    client_id: 'test-cli',
    response_type: 'code',
    scope: 'openid',
    redirect_uri: 'http://127.0.0.1/cb',
  }).toString();
  const refused = await new Browser().follow(noPkce.toString(), (u) =>
    u.startsWith('http://127.0.0.1/cb'),
  );
  expect(new URL(refused.url).searchParams.get('error')).toBe('invalid_request');
  expect(new URL(refused.url).searchParams.get('error_description')).toMatch(/PKCE/);

  const tokens = await authorize(cfg, new Browser(), 'http://127.0.0.1/cb');
  expect(tokens.refresh_token).toBeTruthy();

  const second = await oidc.refreshTokenGrant(cfg, tokens.refresh_token!);
  expect(second.refresh_token).toBeTruthy();
  expect(second.refresh_token).not.toBe(tokens.refresh_token); // rotated
  expect((await oidc.tokenIntrospection(rs, second.access_token)).active).toBe(true);

  // Replay of the spent refresh token: refused, and everything descended from it is revoked.
  await expect(oidc.refreshTokenGrant(cfg, tokens.refresh_token!)).rejects.toMatchObject({
    error: 'invalid_grant',
  });
  await expect(oidc.refreshTokenGrant(cfg, second.refresh_token!)).rejects.toMatchObject({
    error: 'invalid_grant',
  });
  expect((await oidc.tokenIntrospection(rs, second.access_token)).active).toBe(false);
});

test('introspection is only for authenticated confidential clients', async () => {
  const cfg = await oidc.discovery(new URL(k.issuer), 'test-web', WEB_SECRET, undefined, insecure);
  const tokens = await authorize(cfg, new Browser(), RP_CALLBACK);
  const anonymous = await fetch(`${k.issuer}/introspect`, {
    method: 'POST',
    body: new URLSearchParams({ token: tokens.access_token }),
  });
  expect(anonymous.status).toBe(400);
  expect(((await anonymous.json()) as { error: string }).error).toBe('invalid_request');
  const wrongSecret = await fetch(`${k.issuer}/introspect`, {
    method: 'POST',
    body: new URLSearchParams({ token: tokens.access_token }),
    headers: { authorization: `Basic ${Buffer.from('test-rs:nope').toString('base64')}` },
  });
  expect(wrongSecret.status).toBe(401);
  const publicCli = await fetch(`${k.issuer}/introspect`, {
    method: 'POST',
    body: new URLSearchParams({ token: tokens.access_token, client_id: 'test-cli' }),
  });
  expect(await publicCli.json()).toEqual({ active: false });
});
