/**
 * Issued access and client-credentials tokens are remembered in memory (token-payload-cache.ts):
 * introspecting one again costs no database command, and a revocation still holds: at once on the
 * instance that revoked, within a poll of the change signal on another instance on the same
 * database (a replica), for every concurrent introspection there.
 */
import { atOnce } from '../helpers/at-once.ts';
import { dbCommands } from '../helpers/db-commands.ts';
import { RS_SECRET, testClients } from '../helpers/clients.ts';
import { startKeyward, type Keyward } from '../helpers/keyward.ts';

const SECRET = 'token-cache-machine-secret-0123456789abcdef';
let a: Keyward;
let b: Keyward;

beforeAll(async () => {
  const clients = [
    ...testClients,
    {
      client_id: 'machine',
      client_secret: SECRET,
      grant_types: ['client_credentials'],
      redirect_uris: [],
      response_types: [],
      scope: 'openid',
    },
  ];
  a = await startKeyward({ clients });
  b = await startKeyward({ clients }, { sharing: a });
});
afterAll(async () => {
  await b?.stop();
  await a?.stop();
});

const basic = (id: string, secret: string) =>
  `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

async function grant(k: Keyward): Promise<string> {
  const res = await fetch(`${k.issuer}/token`, {
    method: 'POST',
    headers: { authorization: basic('machine', SECRET) },
    body: new URLSearchParams({ grant_type: 'client_credentials' }),
  });
  expect(res.status).toBe(200);
  return String(((await res.json()) as Record<string, unknown>).access_token);
}

async function active(k: Keyward, token: string): Promise<boolean> {
  const res = await fetch(`${k.issuer}/introspect`, {
    method: 'POST',
    headers: { authorization: basic('test-rs', RS_SECRET) },
    body: new URLSearchParams({ token }),
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { active: boolean }).active;
}

async function revoke(k: Keyward, token: string): Promise<void> {
  const res = await fetch(`${k.issuer}/revoke`, {
    method: 'POST',
    headers: { authorization: basic('machine', SECRET) },
    body: new URLSearchParams({ token }),
  });
  expect(res.status).toBe(200);
}

test('introspecting a token again costs no database command, on the issuing instance and on another', async () => {
  const token = await grant(a);
  expect(await active(a, token)).toBe(true); // read once from the database by A
  expect(await dbCommands(a, () => active(a, token))).toEqual([]);
  expect(await active(b, token)).toBe(true); // and by B
  expect(await dbCommands(b, async () => expect(await active(b, token)).toBe(true))).toEqual([]);
  // The provider looks a value up as three token kinds; a value it knows as one is no other.
  expect(await dbCommands(b, () => atOnce(8, () => active(b, token)))).toEqual([]);
});

test('a token unknown to an instance is read from the database, so a token issued elsewhere works at once', async () => {
  const token = await grant(b);
  expect(await active(a, token)).toBe(true);
  expect(await active(a, 'not-a-token-of-anyone-0123456789abcdefghijk')).toBe(false);
});

test('a revocation holds at once on the revoking instance and within a poll on another, for concurrent introspections', async () => {
  const token = await grant(a);
  expect(await active(a, token)).toBe(true);
  expect(await active(b, token)).toBe(true); // remembered by both
  await revoke(a, token);
  expect(await atOnce(8, () => active(a, token))).toEqual(Array(8).fill(false));
  // B's memory ends within one poll of the change signal (credentials.revocationPollMs = 250 ms).
  const start = Date.now();
  let answers: boolean[] = [];
  while (Date.now() - start < 3000) {
    answers = await atOnce(8, () => active(b, token));
    if (answers.every((x) => !x)) break;
    await new Promise((r) => setTimeout(r, 25));
  }
  expect(answers).toEqual(Array(8).fill(false));
  expect(Date.now() - start).toBeLessThan(1500);
  // And it stays revoked: no introspection that started before the revocation brings it back.
  await new Promise((r) => setTimeout(r, 600));
  expect(await atOnce(8, () => active(b, token))).toEqual(Array(8).fill(false));
});

test('an expired token is inactive although it is remembered', async () => {
  const token = await grant(a);
  expect(await active(a, token)).toBe(true);
  a.clock.offsetMs += 86_400_000 + 1000;
  try {
    expect(await active(a, token)).toBe(false);
  } finally {
    a.clock.offsetMs = 0;
  }
});
