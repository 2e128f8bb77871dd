/**
 * Passkey autofill asks for a sign-in challenge on every view of the sign-in page, and most are
 * never answered: expired challenges must be swept like the other expired rows, or the
 * `challenges` collection grows with every page view.
 */
import { startKeyward, type Keyward } from '../helpers/keyward.ts';
import { eventually } from '../helpers/chromium.ts';
import { openSignIn, postJson } from './passkey-helpers.ts';

let k: Keyward;
beforeAll(async () => {
  k = await startKeyward({ sweepIntervalSeconds: 1 });
});
afterAll(async () => k?.stop());

test('unanswered passkey challenges are swept once expired', async () => {
  const page = await openSignIn(`${k.baseUrl}/signin`, () => false);
  expect(
    (await postJson(page, `/interaction/${page.uid}/passkey/options`, { conditional: true }))
      .status,
  ).toBe(200);
  const key = `passkey-signin:interaction:${page.uid}:autofill`;
  expect(await k.db.collection('challenges').countDocuments({ _id: key as never })).toBe(1);
  k.clock.offsetMs += 10 * 60_000; // past the 5-minute challenge lifetime
  await eventually(
    async () =>
      expect(await k.db.collection('challenges').countDocuments({ _id: key as never })).toBe(0),
    10_000,
  );
});
