/**
 * Accounts, memberships, policies and 2-step factors are read from memory once read (no database
 * command), and a write ends that at once on the writing instance and within a poll of the change
 * signal on every other instance on the same database (a replica here).
 */
import { dbCommands } from '../helpers/db-commands.ts';
import { createUser, startKeyward, type Keyward } from '../helpers/keyward.ts';
import { orgScope } from '../../src/platform/directory/policy-service.ts';

let a: Keyward;
let b: Keyward;
let accountId: string;
let orgId: string;

beforeAll(async () => {
  a = await startKeyward();
  b = await startKeyward({}, { sharing: a });
  accountId = (await createUser(a, 'dora', { org: 'acme' })).id;
  orgId = (await a.container.organizations.findByName('acme'))!.id;
});
afterAll(async () => {
  await b?.stop();
  await a?.stop();
});

const commands = dbCommands;

/** Polls `read` until it answers `expected`; answers how long that took (ms). */
async function seenWithin(
  read: () => Promise<unknown>,
  expected: unknown,
  limitMs = 3000,
): Promise<number> {
  const start = Date.now();
  while (Date.now() - start < limitMs) {
    if (JSON.stringify(await read()) === JSON.stringify(expected)) return Date.now() - start;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`not seen within ${limitMs} ms`);
}

test('a second read of the directory costs no database command', async () => {
  const read = () =>
    Promise.all([
      a.container.accounts.findById(accountId),
      a.container.organizations.membershipsOf(accountId),
      a.container.policies.effectiveAll(orgId),
      a.container.mfa.mfa.factors(accountId),
    ]);
  await read();
  expect(await commands(a, read)).toEqual([]);
});

test('a write ends the cached read at once on the same instance', async () => {
  const enforced = async () =>
    (await a.container.policies.effectiveAll(orgId))['enforce-mfa'].value;
  expect(await enforced()).toBe(false);
  await a.container.policies.set(orgScope(orgId), 'enforce-mfa', true);
  expect(await enforced()).toBe(true);
  await a.container.policies.clear(orgScope(orgId), 'enforce-mfa');
  expect(await enforced()).toBe(false);
});

test('a write on another instance reaches this one within a poll of the change signal', async () => {
  const enforcedOnA = async () =>
    (await a.container.policies.effectiveAll(orgId))['enforce-mfa'].value;
  expect(await enforcedOnA()).toBe(false); // remembered on A
  await b.container.policies.set(orgScope(orgId), 'enforce-mfa', true);
  expect(await seenWithin(enforcedOnA, true)).toBeLessThan(1500); // revocationPollMs is 250 ms
  const disabledOnA = async () => (await a.container.accounts.findById(accountId))?.disabled;
  expect(await disabledOnA()).toBe(false);
  await b.container.accounts.setDisabled('dora', true);
  expect(await seenWithin(disabledOnA, true)).toBeLessThan(1500);
  await b.container.organizations.addMember(
    (await b.container.organizations.create('globex')).id,
    accountId,
  );
  const orgsOnA = async () =>
    (await a.container.organizations.membershipsOf(accountId))
      .map((m) => m.organization.name)
      .sort();
  expect(await seenWithin(orgsOnA, ['acme', 'globex'])).toBeLessThan(1500);
});
