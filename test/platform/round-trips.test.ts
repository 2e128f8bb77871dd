/**
 * What one request costs the database, counted from the driver (every command Keyward sends,
 * except the change signals' polls): a complete sign-in (authorize → form → code → tokens), a
 * client_credentials grant and an introspection. The budgets guard against a change quietly
 * adding round trips to the hot paths; BENCHMARKS.md has the counts and what each one is.
 */
import * as oidc from 'openid-client';
import { Browser, signIn } from '../helpers/browserless.ts';
import { dbCommands } from '../helpers/db-commands.ts';
import { createUser, PASSWORD, startKeyward, type Keyward } from '../helpers/keyward.ts';
import { RP_CALLBACK, RS_SECRET, WEB_SECRET, testClients } from '../helpers/clients.ts';

const CC_SECRET = 'cc-secret-0123456789abcdefghijklmnopqrstuv';
let k: Keyward;

beforeAll(async () => {
  const machine = {
    client_id: 'bench-cc',
    client_secret: CC_SECRET,
    grant_types: ['client_credentials'],
    redirect_uris: [],
    response_types: [],
    scope: 'openid',
  };
  k = await startKeyward({ clients: [...testClients, machine] });
  await createUser(k, 'ada', { org: 'acme' });
});
afterAll(async () => k?.stop());

const basic = (id: string, secret: string) =>
  `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

const commands = (action: () => Promise<unknown>) => dbCommands(k, action);

async function signInAndRedeem(): Promise<{ access_token: string }> {
  const verifier = oidc.randomPKCECodeVerifier();
  const params = new URLSearchParams({
    client_id: 'test-web',
    response_type: 'code',
    scope: 'openid',
    redirect_uri: RP_CALLBACK,
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
  });
  const callback = await signIn(
    new Browser(),
    `${k.issuer}/authorize?${params}`,
    'ada',
    PASSWORD,
    RP_CALLBACK,
  );
  const res = await fetch(`${k.issuer}/token`, {
    method: 'POST',
    headers: { authorization: basic('test-web', WEB_SECRET) },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code: new URL(callback).searchParams.get('code')!,
      code_verifier: verifier,
      redirect_uri: RP_CALLBACK,
    }),
  });
  expect(res.status).toBe(200);
  return res.json() as Promise<{ access_token: string }>;
}

test('a complete sign-in costs at most 26 database commands once the directory is in memory', async () => {
  await signInAndRedeem(); // the first one reads the account, its memberships, policies and factors
  const ops = await commands(signInAndRedeem);
  console.log(`sign-in: ${ops.length} commands\n${ops.join('\n')}`);
  expect(ops.length).toBeLessThanOrEqual(26);
  for (const directoryRead of ['memberships.find', 'policies.find', 'mfa_factors.find'])
    expect(ops).not.toContain(directoryRead);
});

test('a client_credentials grant is one insert; an introspection reads only what it must', async () => {
  const grant = await commands(async () => {
    const res = await fetch(`${k.issuer}/token`, {
      method: 'POST',
      headers: { authorization: basic('bench-cc', CC_SECRET) },
      body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'openid' }),
    });
    expect(res.status).toBe(200);
  });
  expect(grant).toEqual(['oidc_client_credentials.insertOne']);
  const { access_token } = await signInAndRedeem();
  const introspection = await commands(async () => {
    const res = await fetch(`${k.issuer}/introspect`, {
      method: 'POST',
      headers: { authorization: basic('test-rs', RS_SECRET) },
      body: new URLSearchParams({ token: access_token }),
    });
    expect(((await res.json()) as { active: boolean }).active).toBe(true);
  });
  console.log(`introspection: ${introspection.join(', ')}`);
  expect(introspection.length).toBeLessThanOrEqual(6);
});
