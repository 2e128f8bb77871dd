/**
 * The profile page edits the name and the OIDC standard claims given_name, family_name, locale
 * and zoneinfo (validated, canonicalized, CSRF-protected); relying parties read them with the
 * `profile` scope through userinfo, or in the ID token through the claims parameter
 * (openid-client as the relying party). Claims never set are absent, not empty.
 */
import { randomBytes } from 'node:crypto';
import * as oidc from 'openid-client';
import { signedInBrowser, formField, type Browser } from '../helpers/browserless.ts';
import { createUser, PASSWORD, startKeyward, type Keyward } from '../helpers/keyward.ts';
import { testClients } from '../helpers/clients.ts';
import { passwordStep, webClient } from '../helpers/mfa.ts';

let k: Keyward;
beforeAll(async () => {
  k = await startKeyward({ clients: testClients });
});
afterAll(async () => k?.stop());

/** A new user per attempt (a retried test must not trip over the user its first attempt made). */
async function newUser(name: string): Promise<string> {
  const username = `${name}-${randomBytes(3).toString('hex')}`;
  await createUser(k, username);
  return username;
}

async function saveProfile(browser: Browser, fields: Record<string, string>, csrf?: string) {
  const page = await browser.fetch(`${k.baseUrl}/account`);
  const token = csrf ?? formField(await page.text(), '_csrf');
  const res = await browser.postForm(`${k.baseUrl}/account`, { _csrf: token, ...fields });
  return {
    status: res.status,
    location: res.headers.get('location'),
    html: res.status === 303 ? '' : await res.text(),
  };
}

async function signInAsRp(username: string, extra: Record<string, string> = {}) {
  const cfg = await webClient(k);
  const s = await passwordStep(k, cfg, username, PASSWORD, { scope: 'openid profile', ...extra });
  const tokens = await s.finish(s.callback!);
  const claims = tokens.claims()!;
  return { claims, userinfo: await oidc.fetchUserInfo(cfg, tokens.access_token, claims.sub) };
}

const PROFILE = ['given_name', 'family_name', 'locale', 'zoneinfo'];

test('discovery lists the profile claims', async () => {
  expect((await webClient(k)).serverMetadata().claims_supported).toEqual(
    expect.arrayContaining(PROFILE),
  );
});

test('claims never set are absent; once saved on the profile page they reach userinfo and the ID token', async () => {
  const paula = await newUser('paula');
  const before = await signInAsRp(paula);
  for (const claim of PROFILE) expect(before.userinfo).not.toHaveProperty(claim);
  expect(before.userinfo).toMatchObject({ name: `${paula} Example`, preferred_username: paula });

  const browser = await signedInBrowser(k.baseUrl, paula, PASSWORD);
  const saved = await saveProfile(browser, {
    displayName: 'Paula Müller-Lüdenscheidt',
    givenName: ' Paula ',
    familyName: 'Müller-Lüdenscheidt',
    locale: 'de_de',
    zoneinfo: 'europe/berlin',
  });
  expect(saved).toMatchObject({ status: 303, location: '/account?done=saved' });
  const page = await (await browser.fetch(`${k.baseUrl}/account?done=saved`)).text();
  expect(page).toContain('Profile saved.');
  expect(formField(page, 'locale')).toBe('de-DE');
  expect(formField(page, 'zoneinfo')).toBe('Europe/Berlin');

  const after = await signInAsRp(paula);
  expect(after.userinfo).toMatchObject({
    name: 'Paula Müller-Lüdenscheidt',
    given_name: 'Paula',
    family_name: 'Müller-Lüdenscheidt',
    locale: 'de-DE',
    zoneinfo: 'Europe/Berlin',
  });
  expect(after.userinfo.updated_at).toBeGreaterThanOrEqual(before.userinfo.updated_at as number);

  // In the ID token when asked for through the claims parameter (OIDC Core §5.5).
  const requested = JSON.stringify({ id_token: Object.fromEntries(PROFILE.map((c) => [c, null])) });
  const { claims } = await signInAsRp(paula, { claims: requested });
  expect(claims).toMatchObject({
    given_name: 'Paula',
    family_name: 'Müller-Lüdenscheidt',
    locale: 'de-DE',
    zoneinfo: 'Europe/Berlin',
  });

  // Emptied fields are removed, not sent as empty strings.
  expect(
    (
      await saveProfile(browser, {
        displayName: 'Paula',
        givenName: '',
        familyName: '',
        locale: 'fr-CA',
        zoneinfo: '',
      })
    ).status,
  ).toBe(303);
  const cleared = await signInAsRp(paula);
  expect(cleared.userinfo).toMatchObject({ name: 'Paula', locale: 'fr-CA' });
  for (const claim of ['given_name', 'family_name', 'zoneinfo'])
    expect(cleared.userinfo).not.toHaveProperty(claim);

  const events = await (await browser.fetch(`${k.baseUrl}/account/security-events`)).text();
  expect(events).toContain('account.profile_updated');
});

test('invalid values are refused with a message and change nothing; the form needs its CSRF token', async () => {
  const rolf = await newUser('rolf');
  const browser = await signedInBrowser(k.baseUrl, rolf, PASSWORD);
  expect(
    (
      await saveProfile(browser, {
        displayName: 'Rolf',
        locale: 'en-GB',
        zoneinfo: 'Europe/London',
      })
    ).status,
  ).toBe(303);

  const cases: [Record<string, string>, RegExp][] = [
    [{ displayName: '  ' }, /Name must not be empty/],
    [
      { displayName: 'Rolf', locale: 'not a locale' },
      /Locale (&quot;|")not a locale(&quot;|") is not a language tag/,
    ],
    [
      { displayName: 'Rolf', zoneinfo: 'Mars/Olympus' },
      /Time zone (&quot;|")Mars\/Olympus(&quot;|") is not an IANA time zone name/,
    ],
    [{ displayName: 'Rolf', zoneinfo: '+01:00' }, /is not an IANA time zone name/],
    [
      { displayName: 'Rolf', givenName: 'x'.repeat(65) },
      /Given name must be at most 64 characters/,
    ],
    [{ displayName: 'Rolf\u0000', familyName: 'R' }, /Name must not contain control characters/],
  ];
  for (const [fields, message] of cases) {
    const res = await saveProfile(browser, fields);
    expect(res.status).toBe(400);
    expect(res.html).toMatch(message);
  }
  const forged = await saveProfile(browser, { displayName: 'Forged' }, 'not-the-token');
  expect(forged.status).toBe(403);

  const { userinfo } = await signInAsRp(rolf);
  expect(userinfo).toMatchObject({ name: 'Rolf', locale: 'en-GB', zoneinfo: 'Europe/London' });
});
