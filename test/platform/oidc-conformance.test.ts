/**
 * Standards conformance found missing by independent clients (issue 13): POST at the
 * authorization and logout endpoints (OIDC Core §3.1.2.1, RP-Initiated Logout §2) and the
 * session cookie that makes it work; acr_values in order of preference; the discovery fields the
 * platform's SDK requires, and endpoint URLs from the issuer's base whatever the Host header;
 * RFC 7009 §2.1 errors for a client revoking another client's token.
 */
import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import * as oidc from 'openid-client';
import { Browser, formField, signIn } from '../helpers/browserless.ts';
import { createUser, PASSWORD, startKeyward, type Keyward } from '../helpers/keyward.ts';
import {
  RP_CALLBACK,
  RP_LOGOUT,
  RS_SECRET,
  THIRD_SECRET,
  WEB_SECRET,
  testClients,
} from '../helpers/clients.ts';
import { passwordStep, webClient } from '../helpers/mfa.ts';
import { atOnce } from '../helpers/at-once.ts';
import { ACR_MFA, ACR_PWD } from '../../src/platform/auth/second-factor.ts';

const insecure = { execute: [oidc.allowInsecureRequests] };
let k: Keyward;

beforeAll(async () => {
  k = await startKeyward({ clients: testClients });
  await createUser(k, 'alice');
});
afterAll(async () => k?.stop());

/** A new user per attempt (a retried test must not trip over the user its first attempt made). */
async function newUser(name: string): Promise<string> {
  const username = `${name}-${randomBytes(3).toString('hex')}`;
  await createUser(k, username);
  return username;
}

/** A browser that also keeps every Set-Cookie line it received, attributes included. */
class RecordingBrowser extends Browser {
  readonly setCookies: string[] = [];
  override async fetch(url: string, init: RequestInit = {}): Promise<Response> {
    const res = await super.fetch(url, init);
    this.setCookies.push(...res.headers.getSetCookie());
    return res;
  }
}

async function authorizationParams(cfg: oidc.Configuration) {
  const verifier = oidc.randomPKCECodeVerifier();
  const checks = {
    pkceCodeVerifier: verifier,
    expectedState: oidc.randomState(),
    expectedNonce: oidc.randomNonce(),
  };
  const params = {
    client_id: cfg.clientMetadata().client_id,
    response_type: 'code',
    redirect_uri: RP_CALLBACK,
    scope: 'openid profile',
    state: checks.expectedState,
    nonce: checks.expectedNonce,
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
  };
  return { params, checks };
}

describe('POST at the authorization and end-session endpoints', () => {
  test('a form-posted authorization request signs in and ends in a code; a form-posted logout signs out', async () => {
    const cfg = await webClient(k);
    const browser = new RecordingBrowser();
    const { params, checks } = await authorizationParams(cfg);
    const posted = await browser.postForm(`${k.issuer}/authorize`, params);
    expect(posted.status).toBeGreaterThanOrEqual(300);
    expect(posted.status).toBeLessThan(400);
    const interaction = new URL(posted.headers.get('location')!, k.issuer).toString();
    expect(interaction).toMatch(/\/interaction\/[^/]+$/);
    const callback = await signIn(browser, interaction, 'alice', PASSWORD, RP_CALLBACK);
    const tokens = await oidc.authorizationCodeGrant(cfg, new URL(callback), checks);
    expect(tokens.claims()!.sub).toBeTruthy();

    // Signed in, a second form-posted request goes straight back with a code (the session is seen).
    const again = await authorizationParams(cfg);
    const { url } = await browser.follow(
      `${k.issuer}/authorize`,
      (u) => u.startsWith(RP_CALLBACK),
      {
        method: 'POST',
        body: new URLSearchParams(again.params),
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      },
    );
    expect(url.startsWith(RP_CALLBACK)).toBe(true);
    expect((await oidc.authorizationCodeGrant(cfg, new URL(url), again.checks)).claims()!.sub).toBe(
      tokens.claims()!.sub,
    );

    // On plain http the session cookie stays SameSite=Lax: browsers drop SameSite=None without Secure.
    const session = browser.setCookies.filter(
      (l) => /^_session(\.sig)?=/.test(l) && !/expires=Thu, 01 Jan 1970/i.test(l),
    );
    expect(session.length).toBeGreaterThan(0);
    for (const line of session) {
      expect(line).toMatch(/;\s*samesite=lax/i);
      expect(line).not.toMatch(/samesite=none/i);
    }

    // RP-Initiated Logout by POST: the confirmation page, its form, the redirect back with state.
    const logout = await browser.postForm(`${k.issuer}/end_session`, {
      id_token_hint: tokens.id_token!,
      post_logout_redirect_uri: RP_LOGOUT,
      state: 'bye',
    });
    const html = await logout.text();
    expect(logout.status).toBe(200);
    expect(html).toContain('Sign out?');
    const done = await browser.postForm(`${k.issuer}/end_session/confirm`, {
      xsrf: formField(html, 'xsrf'),
      logout: 'yes',
    });
    expect(done.status).toBe(303);
    expect(done.headers.get('location')).toBe(`${RP_LOGOUT}?state=bye`);
  });

  test('a form-posted request is validated like a GET one', async () => {
    const cfg = await webClient(k);
    const { params } = await authorizationParams(cfg);
    const bad = await new Browser().postForm(`${k.issuer}/authorize`, {
      ...params,
      redirect_uri: 'https://evil.example/cb',
    });
    expect(bad.status).toBe(400);
    expect(await bad.text()).toMatch(/redirect_uri/);
    const implicit = await new Browser().postForm(`${k.issuer}/authorize`, {
      ...params,
      response_type: 'token',
    });
    expect(implicit.status).toBe(303);
    const refused = new URL(implicit.headers.get('location')!);
    expect(refused.origin + refused.pathname).toBe(RP_CALLBACK);
    const answer = new URLSearchParams(refused.hash.slice(1)); // the fragment, as response_type=token implies
    expect(answer.get('error')).toBe('unsupported_response_type');
    expect(answer.get('state')).toBe(params.state);
  });
});

describe('acr_values in order of preference (OIDC Core §3.1.2.1)', () => {
  test('"pwd mfa": a password sign-in satisfies the preferred value, no second factor is forced', async () => {
    const pia = await newUser('pia');
    const cfg = await webClient(k);
    const s = await passwordStep(k, cfg, pia, PASSWORD, { acr_values: `${ACR_PWD} ${ACR_MFA}` });
    expect(s.page?.url).toBeUndefined();
    expect(s.callback).toBeDefined();
    expect((await s.finish(s.callback!)).claims()!.acr).toBe(ACR_PWD);
  });

  test('"mfa pwd": the preferred value steps the same password session up', async () => {
    const quinn = await newUser('quinn');
    const cfg = await webClient(k);
    const first = await passwordStep(k, cfg, quinn, PASSWORD, {
      acr_values: `${ACR_PWD} ${ACR_MFA}`,
    });
    expect(first.callback).toBeDefined();
    const stepUp = await passwordStep(
      k,
      cfg,
      quinn,
      PASSWORD,
      { acr_values: `${ACR_MFA} ${ACR_PWD}` },
      first.browser,
    );
    expect(stepUp.callback).toBeUndefined();
    expect(stepUp.page?.url).toMatch(/\/interaction\/[^/]+\/mfa(\/|$)/);
    expect(stepUp.page?.html).toMatch(/2-step verification/i);
  });

  test('unknown values are skipped; an essential acr in the claims parameter still forces the second factor', async () => {
    const rhea = await newUser('rhea');
    const cfg = await webClient(k);
    const unknownFirst = await passwordStep(k, cfg, rhea, PASSWORD, {
      acr_values: `urn:example:gold ${ACR_PWD} ${ACR_MFA}`,
    });
    expect(unknownFirst.callback).toBeDefined();
    const essential = JSON.stringify({ id_token: { acr: { essential: true, value: ACR_MFA } } });
    const forced = await passwordStep(k, cfg, rhea, PASSWORD, {
      acr_values: `${ACR_PWD} ${ACR_MFA}`,
      claims: essential,
    });
    expect(forced.callback).toBeUndefined();
    expect(forced.page?.url).toMatch(/\/interaction\/[^/]+\/mfa(\/|$)/);
    // Essential, but the password value first among the acceptable ones: the password suffices.
    const either = JSON.stringify({
      id_token: { acr: { essential: true, values: [ACR_PWD, ACR_MFA] } },
    });
    expect((await passwordStep(k, cfg, rhea, PASSWORD, { claims: either })).callback).toBeDefined();
  });
});

describe('discovery', () => {
  test('advertises the client authentication methods of the introspection and revocation endpoints', async () => {
    const meta = (await webClient(k)).serverMetadata();
    expect(meta.introspection_endpoint_auth_methods_supported).toEqual([
      'client_secret_basic',
      'client_secret_post',
    ]);
    expect(meta.revocation_endpoint_auth_methods_supported).toEqual([
      'client_secret_basic',
      'client_secret_post',
      'none',
    ]);
    expect(meta.token_endpoint_auth_methods_supported).toEqual([
      'client_secret_basic',
      'client_secret_post',
      'none',
    ]);
  });

  test('without KEYWARD_PUBLIC_URL, the issuer and every endpoint come from one base, whatever the Host header', async () => {
    const local = await startKeyward({ clients: testClients, publicUrl: undefined });
    try {
      const port = Number(new URL(local.baseUrl).port);
      expect(local.issuer).toBe(`http://localhost:${port}/api/oidc`);
      for (const host of [
        `127.0.0.1:${port}`,
        `localhost:${port}`,
        'keyward.internal:8080',
        'attacker.example',
      ]) {
        const meta = await discoveryVia(port, host);
        expect(meta.issuer).toBe(local.issuer);
        const urls = Object.entries(meta).filter(
          ([key, v]) => typeof v === 'string' && (key.endsWith('_endpoint') || key === 'jwks_uri'),
        );
        expect(urls.length).toBeGreaterThanOrEqual(8);
        for (const [key, url] of urls)
          expect([key, url]).toEqual([key, expect.stringMatching(new RegExp(`^${local.issuer}/`))]);
      }
    } finally {
      await local.stop();
    }
  });
});

/** The discovery document, asked on 127.0.0.1:`port` with the given Host header (fetch cannot set Host). */
function discoveryVia(port: number, host: string): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port,
        path: '/api/oidc/.well-known/openid-configuration',
        headers: { host },
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          body += c;
        });
        res.on('end', () =>
          res.statusCode === 200
            ? resolve(JSON.parse(body) as Record<string, unknown>)
            : reject(new Error(`${res.statusCode}: ${body}`)),
        );
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe("RFC 7009 §2.1: revoking another client's token", () => {
  const basic = (id: string, secret: string) => ({
    authorization: `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`,
  });
  const revoke = (
    token: string,
    headers: Record<string, string>,
    extra: Record<string, string> = {},
  ) =>
    fetch(`${k.issuer}/revoke`, {
      method: 'POST',
      body: new URLSearchParams({ token, ...extra }),
      headers,
    });

  test('is refused with unauthorized_client, for confidential and public callers, also at once; the owner may', async () => {
    const cfg = await webClient(k);
    const rs = await oidc.discovery(new URL(k.issuer), 'test-rs', RS_SECRET, undefined, insecure);
    const s = await passwordStep(k, cfg, 'alice', PASSWORD, {
      scope: 'openid offline_access',
      prompt: 'consent',
    });
    const tokens = await s.finish(s.callback!);
    expect(tokens.refresh_token).toBeTruthy();

    for (const token of [tokens.access_token, tokens.refresh_token!]) {
      const third = await revoke(token, basic('test-third', THIRD_SECRET));
      expect(third.status).toBe(400);
      expect(await third.json()).toMatchObject({
        error: 'unauthorized_client',
        error_description: expect.stringMatching(/not issued to this client/),
      });
      const publicCaller = await revoke(token, {}, { client_id: 'test-cli' });
      expect(publicCaller.status).toBe(400);
      expect(((await publicCaller.json()) as { error: string }).error).toBe('unauthorized_client');
    }
    const attempts = await atOnce(8, () =>
      revoke(tokens.access_token, basic('test-third', THIRD_SECRET)),
    );
    expect(attempts.map((r) => r.status)).toEqual(Array(8).fill(400));
    expect((await oidc.tokenIntrospection(rs, tokens.access_token)).active).toBe(true);
    expect((await oidc.refreshTokenGrant(cfg, tokens.refresh_token!)).access_token).toBeTruthy();

    // Unknown tokens still get 200 (RFC 7009 §2.2), and the owner revokes its own token.
    expect(
      (await revoke('no-such-token-0123456789abcdef', basic('test-third', THIRD_SECRET))).status,
    ).toBe(200);
    const own = await revoke(tokens.access_token, basic('test-web', WEB_SECRET));
    expect(own.status).toBe(200);
    expect((await oidc.tokenIntrospection(rs, tokens.access_token)).active).toBe(false);
  });
});
