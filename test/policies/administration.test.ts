/**
 * Administration on the account pages (issue 14 items 3, 7, 8, 9): only administrators see it;
 * policies by subject with human names, Enabled / Disabled / Not set and the platform default, one
 * Save per group; a warning (with how many members are affected) before a sign-in policy that
 * would lock the admin out; security events in words with a filter.
 */
import { Browser, formField, signedInBrowser } from '../helpers/browserless.ts';
import { createUser, PASSWORD, startKeyward, type Keyward } from '../helpers/keyward.ts';
import { alignClock, api, oathtool, passwordStep, submitCode, webClient } from '../helpers/mfa.ts';
import { testClients } from '../helpers/clients.ts';

let k: Keyward;
let ada: Browser;
let max: Browser;
let orgId: string;

beforeAll(async () => {
  k = await startKeyward({ clients: testClients });
  await createUser(k, 'ada', { org: 'acme', admin: true });
  await createUser(k, 'max', { org: 'acme' });
  await createUser(k, 'una', { org: 'acme' });
  ada = await signedInBrowser(k.baseUrl, 'ada', PASSWORD);
  max = await signedInBrowser(k.baseUrl, 'max', PASSWORD);
  orgId = (await k.container.organizations.findByName('acme'))!.id;
});
afterAll(() => k?.stop());

const html = async (b: Browser, path: string) => (await b.fetch(`${k.baseUrl}${path}`)).text();

test('members see no Administration; admins see Organization in the navigation and the user menu', async () => {
  const member = await html(max, '/account');
  expect(member).not.toContain('href="/account/admin"');
  expect(member).not.toContain('>Administration<');
  const admin = await html(ada, '/account');
  expect(admin).toContain('<a href="/account/admin">Organization</a>');
  expect(admin).toContain('<li><a href="/account/admin">Administration</a></li>');
});

test('the documentation structure: Account > Authentication with API Keys, SSH Keys, 2-Step Verification (and its state)', async () => {
  const page = await html(max, '/account/authentication');
  const nav = /<nav class="account-nav"[\s\S]*?<\/nav>/.exec(page)![0];
  const labels = [...nav.matchAll(/<a href="[^"]+"[^>]*>([^<]+)<\/a>/g)].map((m) => m[1]);
  expect(labels).toEqual([
    'Profile',
    'Authentication',
    'API Keys',
    'SSH Keys',
    '2-Step Verification',
    'SSH Private Keys',
    'Security events',
    'Signed-in devices',
  ]);
  expect(page).toMatch(
    /<strong>2-Step Verification<\/strong>[\s\S]*?<span class="pill pill-off">Off<\/span>/,
  );
  const tabs = /<nav class="tabs" aria-label="Authentication">([\s\S]*?)<\/nav>/.exec(
    await html(max, '/account/ssh-keys'),
  )![1];
  expect([...tabs.matchAll(/>([^<]+)<\/a>/g)].map((m) => m[1])).toEqual([
    'API Keys',
    'SSH Keys',
    '2-Step Verification',
  ]);
  expect(tabs).toContain('<a href="/account/ssh-keys" aria-current="page">SSH Keys</a>');
});

test('policies by subject with human names, their state and platform default, one Save per group', async () => {
  const page = await html(ada, '/account/admin');
  for (const title of [
    'Sign-in security',
    'API keys and tokens',
    'CLI sign-in',
    'SSH certificates',
  ])
    expect(page).toContain(`>${title}</h3>`);
  for (const label of [
    'Enforce MFA',
    'Enforce Security Key MFA',
    'Enrolment grace period',
    'Maximum API key lifetime',
  ])
    expect(page).toContain(`>${label}</label>`);
  expect(page).not.toMatch(/<label[^>]*>enforce-webauthn-mfa</);
  expect(page).toMatch(
    /Maximum API key lifetime[\s\S]*?This organization: <strong>Not set<\/strong> · Platform default: <strong>730 days<\/strong>/,
  );
  expect((page.match(/<button type="submit" class="primary small">Save /g) ?? []).length).toBe(4);

  const csrf = formField(page, '_csrf');
  const saved = await ada.postForm(`${k.baseUrl}/account/admin/acme/policy-groups/api-keys`, {
    _csrf: csrf,
    'max-api-key-ttl': '90',
    'api-key-expiry-choice': 'false',
    'cli-token-ttl': '',
  });
  expect({ status: saved.status, location: saved.headers.get('location') }).toEqual({
    status: 303,
    location: '/account/admin?org=acme&done=policy',
  });
  expect(await k.container.policies.setAt(`org:${orgId}`)).toMatchObject({
    'max-api-key-ttl': 90,
    'api-key-expiry-choice': false,
  });
  const after = await html(ada, '/account/admin?org=acme&done=policy');
  expect(after).toMatch(
    /Users choose the expiration[\s\S]*?This organization: <strong>Disabled<\/strong> · Platform default: <strong>Enabled<\/strong>/,
  );

  // One bad field: nothing of the group is saved, the page says which.
  const bad = await ada.postForm(`${k.baseUrl}/account/admin/acme/policy-groups/api-keys`, {
    _csrf: csrf,
    'max-api-key-ttl': '30',
    'api-key-expiry-choice': 'true',
    'cli-token-ttl': '99',
  });
  expect(bad.status).toBe(400);
  expect(await bad.text()).toContain('CLI token lifetime: ');
  expect(await k.container.policies.setAt(`org:${orgId}`)).toMatchObject({
    'max-api-key-ttl': 90,
    'api-key-expiry-choice': false,
  });
  await ada.postForm(`${k.baseUrl}/account/admin/acme/policy-groups/api-keys`, {
    _csrf: csrf,
    'max-api-key-ttl': '',
    'api-key-expiry-choice': '',
    'cli-token-ttl': '',
  });
  expect(await k.container.policies.setAt(`org:${orgId}`)).toEqual({});
});

test('Enforce Security Key MFA warns before locking the admin out, says how many members are affected, saves on "Save anyway"', async () => {
  const csrf = formField(await html(ada, '/account/admin'), '_csrf');
  const form = { _csrf: csrf, 'enforce-webauthn-mfa': 'hardware', 'mfa-grace-period-hours': '' };
  const warned = await ada.postForm(`${k.baseUrl}/account/admin/acme/policy-groups/sign-in`, form);
  expect(warned.status).toBe(409);
  const text = await warned.text();
  expect(text).toContain('<div class="lockout-warning" role="alert">');
  expect(text).toContain('You have no security key yet');
  expect(text).toContain('3 members of this organization have no security key (2 besides you)');
  expect(text).toContain(
    '<a class="button secondary small" href="/account/mfa">Register a security key first</a>',
  );
  expect(text).toMatch(/<option value="hardware" selected>/); // the choice is kept for "Save anyway"
  expect(
    (await k.container.policies.setAt(`org:${orgId}`))['enforce-webauthn-mfa'],
  ).toBeUndefined();

  const confirmed = await ada.postForm(`${k.baseUrl}/account/admin/acme/policy-groups/sign-in`, {
    ...form,
    confirm: 'yes',
  });
  expect(confirmed.status).toBe(303);
  expect((await k.container.policies.setAt(`org:${orgId}`))['enforce-webauthn-mfa']).toBe(
    'hardware',
  );
  await k.container.policies.clear(`org:${orgId}`, 'enforce-webauthn-mfa');
});

test('security events in words, with the raw type kept for support, a local-time stamp and a filter by kind', async () => {
  const page = await html(ada, '/account/security-events');
  expect(page).toMatch(
    /<tr data-type="policy.set">[\s\S]*?<time datetime="[^"]+" data-local>[^<]+UTC<\/time>[\s\S]*?<span class="event-text">Organization policy set<\/span>/,
  );
  expect(page).toContain('<option value="admin">Administration</option>');
  const filtered = await html(ada, '/account/security-events?kind=profile');
  expect(filtered).not.toContain('data-type="policy.set"');
  expect(filtered).toContain('No events of this kind.');
});

test('while a policy requires 2-step verification, Turn Off is not offered and the page says why', async () => {
  const una = await signedInBrowser(k.baseUrl, 'una', PASSWORD);
  const setup = await api(una, k.baseUrl, 'POST', '/api/sso/mfa/otp');
  expect(
    (
      await api(una, k.baseUrl, 'POST', '/api/sso/mfa/otp/verify', {
        code: oathtool(setup.body.secret, alignClock(k)),
      })
    ).status,
  ).toBeLessThan(300);
  expect(await html(una, '/account/mfa')).toContain('>Turn Off</button>');
  await k.container.policies.set(`org:${orgId}`, 'enforce-mfa', true);
  try {
    // Signed in again with the second factor, as the policy now requires.
    const step = await passwordStep(k, await webClient(k), 'una', PASSWORD);
    k.clock.offsetMs += 30_000;
    expect(
      (await submitCode(step, 'otp', oathtool(setup.body.secret, alignClock(k)))).callback,
    ).toBeDefined();
    const page = await html(step.browser, '/account/mfa');
    expect(page).not.toContain('>Turn Off</button>');
    expect(page).toContain(
      'Your organization requires 2-step verification, so it cannot be turned off here.',
    );
  } finally {
    await k.container.policies.clear(`org:${orgId}`, 'enforce-mfa');
  }
});
