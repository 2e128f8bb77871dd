/**
 * An organization's own identity provider for the sign-in-method tests: a separate process running
 * node-oidc-provider with its own accounts, clients and sign-in page (not Keyward, not a mock).
 * Config comes as JSON in UPSTREAM_IDP_CONFIG; it prints "listening" when ready.
 *
 * For the negative tests it can be told to misbehave (POST /_test/tamper?mode=iss|aud|nonce): its
 * next token responses then carry an ID token re-signed with its own key but a wrong iss, aud or
 * nonce, exactly what a compromised or misconfigured IdP would send.
 */
import { generateKeyPairSync } from 'node:crypto';
import Provider, { type KoaContextWithOIDC } from 'oidc-provider';
import { importJWK, SignJWT, decodeJwt, decodeProtectedHeader, type JWK } from 'jose';

interface UpstreamAccount {
  password: string;
  sub: string;
  claims: Record<string, unknown>;
  amr?: string[];
  acr?: string;
}
interface UpstreamConfig {
  port: number;
  clients: Record<string, unknown>[];
  accounts: Record<string, UpstreamAccount>;
}

const config = JSON.parse(process.env.UPSTREAM_IDP_CONFIG ?? '{}') as UpstreamConfig;
const issuer = `http://127.0.0.1:${config.port}`;
const signingKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({
  format: 'jwk',
}) as JWK;
signingKey.kid = 'upstream-1';
signingKey.alg = 'ES256';
signingKey.use = 'sig';
let tamper: string | undefined;

const bySub = new Map(Object.values(config.accounts).map((a) => [a.sub, a]));

const provider = new Provider(issuer, {
  clients: config.clients as never,
  jwks: { keys: [signingKey] },
  // Cookie names of its own: a browser keeps cookies per host, not per port, so on 127.0.0.1 the
  // defaults would collide with Keyward's (which also runs oidc-provider).
  cookies: {
    keys: ['upstream-test-cookie-key-0123456789'],
    names: { session: 'acme_session', interaction: 'acme_interaction', resume: 'acme_resume' },
  },
  claims: {
    openid: ['sub', 'amr', 'acr', 'auth_time'],
    email: ['email', 'email_verified'],
    profile: ['name', 'username', 'preferred_username'],
  },
  features: { devInteractions: { enabled: false } },
  pkce: { required: () => true },
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  async findAccount(_ctx, sub) {
    const account = bySub.get(sub);
    return account
      ? { accountId: sub, claims: async () => ({ sub, ...account.claims }) }
      : undefined;
  },
  // Consent is not what these tests are about: every client gets what it asks for.
  async loadExistingGrant(ctx: KoaContextWithOIDC) {
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client!.clientId,
      accountId: ctx.oidc.session!.accountId!,
    });
    grant.addOIDCScope('openid email profile');
    await grant.save();
    return grant;
  },
});

const page = (
  uid: string,
  error = '',
) => `<!doctype html><html><head><title>Acme SSO</title></head><body style="font-family:sans-serif;max-width:28em;margin:3em auto">
<h1>Acme SSO</h1>${error ? `<p role="alert">${error}</p>` : ''}
<form method="post" action="/interaction/${uid}/login">
<p><label>Acme username <input name="username" id="acme-username"></label></p>
<p><label>Acme password <input name="password" id="acme-password" type="password"></label></p>
<button type="submit" id="acme-submit">Sign in to Acme</button></form></body></html>`;

async function readForm(ctx: KoaContextWithOIDC): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  for await (const c of ctx.req) chunks.push(c as Buffer);
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

provider.use(async (ctx, next) => {
  const m = /^\/interaction\/([^/]+)(\/login)?$/.exec(ctx.path);
  if (ctx.path === '/_test/tamper' && ctx.method === 'POST') {
    tamper =
      typeof ctx.query.mode === 'string' && ctx.query.mode !== 'none' ? ctx.query.mode : undefined;
    ctx.status = 204;
    return;
  }
  if (m && ctx.method === 'GET') {
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    ctx.type = 'html';
    ctx.body = page(details.uid);
    return;
  }
  if (m && m[2] && ctx.method === 'POST') {
    const form = await readForm(ctx as KoaContextWithOIDC);
    const account = config.accounts[form.get('username') ?? ''];
    if (!account || account.password !== form.get('password')) {
      ctx.status = 401;
      ctx.type = 'html';
      ctx.body = page(m[1], 'Wrong Acme username or password.');
      return;
    }
    await provider.interactionFinished(
      ctx.req,
      ctx.res,
      { login: { accountId: account.sub, amr: account.amr ?? ['pwd'], acr: account.acr } },
      { mergeWithLastSubmission: false },
    );
    return;
  }
  await next();
  if (
    tamper &&
    ctx.path === '/token' &&
    ctx.body &&
    typeof ctx.body === 'object' &&
    'id_token' in ctx.body
  ) {
    const body = ctx.body as { id_token: string };
    const claims = decodeJwt(body.id_token);
    if (tamper === 'iss') claims.iss = 'https://evil.example.test';
    if (tamper === 'aud') claims.aud = 'some-other-client';
    if (tamper === 'nonce') claims.nonce = 'not-the-nonce-keyward-sent';
    body.id_token = await new SignJWT(claims)
      .setProtectedHeader(decodeProtectedHeader(body.id_token) as { alg: string })
      .sign(await importJWK(signingKey, 'ES256'));
  }
});

provider.listen(config.port, '127.0.0.1', () => process.stdout.write('listening\n'));
