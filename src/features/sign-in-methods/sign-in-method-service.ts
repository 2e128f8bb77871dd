/**
 * An organization's sign-in methods (password, upstream OIDC, LDAP): administration with sealed,
 * write-only secrets; which methods an identifier's organization offers; and turning a verified
 * external identity into a Keyward account — by its (method, external id) link, by just-in-time
 * creation when the method allows it, or not at all. Never by email alone.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Configuration } from 'openid-client';
import { AppError } from '../../platform/errors/app-error.ts';
import type { Envelope } from '../../platform/crypto/envelope.ts';
import type { Account } from '../../platform/directory/account-repository.ts';
import type { Organization } from '../../platform/directory/organization-repository.ts';
import type { OnceClaims } from '../../platform/store/once-marker-repository.ts';
import type { AccountService, SignInClient } from '../../platform/directory/account-service.ts';
import { INVALID_CREDENTIALS } from '../../platform/directory/account-service.ts';
import type { OrganizationService } from '../../platform/directory/organization-service.ts';
import type { PolicyService } from '../../platform/directory/policy-service.ts';
import type { AuditService, RequestInfo } from '../../platform/directory/audit-service.ts';
import type { ThrottleRule, ThrottleService } from '../../platform/throttle/throttle-service.ts';
import type {
  ExternalIdentity,
  MethodType,
  SecretField,
  SignInMethodRepository,
  StoredMethod,
} from './sign-in-method-repository.ts';
import {
  checkClientAuthentication,
  relyingParty,
  type OidcSecrets,
  type OidcSettings,
  type UpstreamIdentity,
} from './oidc-relying-party.ts';
import {
  authenticate as ldapAuthenticate,
  testConnection,
  type LdapSettings,
} from './ldap-directory.ts';
import type { LdapInput, OidcInput } from './schema.ts';

export const DISABLE_PASSWORD_LOGIN = 'disable-password-login';
const SECRET_FIELDS: Record<MethodType, SecretField[]> = {
  password: [],
  oidc: ['clientSecret', 'privateKeyPEM'],
  ldap: ['bindPassword'],
};
const USERNAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

export interface Actor {
  id: string;
  platformAdmin: boolean;
}

/** What the sign-in page offers for an identifier. */
export interface SignInOptions {
  organization?: Organization;
  methods: StoredMethod[];
  password: boolean;
  byOrganizationName?: boolean;
}

/** The outcome of a federated sign-in, for the interaction to finish. */
export interface FederatedAccount {
  account: Account;
  created: boolean;
}

export interface SignInMethodDeps {
  repo: SignInMethodRepository;
  envelope: Envelope;
  accounts: AccountService;
  organizations: OrganizationService;
  policies: PolicyService;
  audit: AuditService;
  throttle: ThrottleService;
  rules: { account: ThrottleRule; ip: ThrottleRule };
  once: OnceClaims;
  now: () => number;
  organizationById: (id: string) => Promise<Organization | undefined>;
}

const aad = (m: { organizationId: string; id: string }, field: SecretField) =>
  `sign-in-method:${m.organizationId}:${m.id}:${field}`;

function titleCased(username: string): string {
  return username
    .split(/([._-])/)
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('');
}

/** The account fields a method maps from an upstream identity's claims (or directory attributes). */
export function mapIdentity(
  values: Record<string, unknown>,
  keys: {
    username: string;
    email: string;
    externalId: string;
    name?: string;
    titleCase?: boolean | null;
  },
) {
  const text = (k: string) =>
    typeof values[k] === 'string' || typeof values[k] === 'number' ? String(values[k]).trim() : '';
  const externalId = text(keys.externalId);
  const email = text(keys.email).toLowerCase();
  let username =
    text(keys.username) || (email.includes('@') ? email.slice(0, email.indexOf('@')) : '');
  if (keys.titleCase) username = titleCased(username);
  return {
    externalId,
    email,
    username,
    displayName: text(keys.name ?? 'name') || text('name') || username,
  };
}

export class SignInMethodService {
  readonly #d: SignInMethodDeps;
  readonly #configs = new Map<string, { at: number; config: Promise<Configuration> }>();

  constructor(deps: SignInMethodDeps) {
    this.#d = deps;
  }

  // --- administration -------------------------------------------------------------------

  list(organizationId: string): Promise<StoredMethod[]> {
    return this.#d.repo.listFor(organizationId);
  }

  async require(org: Organization, name: string, type?: MethodType): Promise<StoredMethod> {
    const m = (await this.#d.repo.listFor(org.id)).find(
      (x) => x.name === name && (!type || x.type === type),
    );
    if (!m)
      throw new AppError(
        'not_found',
        `No ${type ?? 'sign-in'} method "${name}" in organization "${org.name}".`,
      );
    return m;
  }

  async findById(id: string): Promise<StoredMethod | undefined> {
    return this.#d.repo.findById(id);
  }

  /** The public view of a method: its settings, never its secrets. */
  view(m: StoredMethod): Record<string, unknown> {
    return {
      ...m.settings,
      id: m.id,
      type: m.type,
      name: m.name,
      ...(m.displayName ? { displayName: m.displayName } : {}),
    };
  }

  async createPassword(
    org: Organization,
    actor: Actor,
    request?: RequestInfo,
  ): Promise<StoredMethod> {
    const m = await this.#d.repo.create({
      id: randomUUID(),
      organizationId: org.id,
      type: 'password',
      name: 'password',
      displayName: 'Password',
      settings: {},
      sealed: {},
    });
    await this.#audited('sign_in_method.created', org, m, actor, request);
    return m;
  }

  async createOidc(
    org: Organization,
    input: OidcInput,
    actor: Actor,
    request?: RequestInfo,
  ): Promise<StoredMethod> {
    this.#checkPrivateAddress(input.allowPrivateAddress, undefined, actor);
    const { clientSecret, privateKeyPEM, name, displayName, ...settings } = input;
    checkClientAuthentication(settings, { clientSecret, privateKeyPEM });
    this.#checkEndpoints(settings);
    const id = randomUUID();
    const sealed = this.#seal({ organizationId: org.id, id }, { clientSecret, privateKeyPEM });
    const m = await this.#d.repo.create({
      id,
      organizationId: org.id,
      type: 'oidc',
      name,
      displayName,
      settings,
      sealed,
    });
    await this.#audited('sign_in_method.created', org, m, actor, request);
    return m;
  }

  async patchOidc(
    org: Organization,
    name: string,
    patch: Partial<OidcInput>,
    actor: Actor,
    request?: RequestInfo,
  ): Promise<StoredMethod> {
    const m = await this.#patchable(org, name, 'oidc', patch, actor);
    const { clientSecret, privateKeyPEM, name: _n, displayName, ...rest } = patch;
    const settings = { ...m.settings, ...rest } as unknown as OidcSettings;
    const sealed = {
      ...m.sealed,
      ...this.#seal(m, {
        clientSecret: clientSecret || undefined,
        privateKeyPEM: privateKeyPEM || undefined,
      }),
    };
    checkClientAuthentication(settings, this.#open({ ...m, sealed }) as OidcSecrets);
    this.#checkEndpoints(settings);
    return this.#update(
      org,
      m,
      {
        displayName: displayName ?? m.displayName,
        settings: settings as unknown as Record<string, unknown>,
        sealed,
      },
      actor,
      request,
    );
  }

  async createLdap(
    org: Organization,
    input: LdapInput,
    actor: Actor,
    request?: RequestInfo,
  ): Promise<StoredMethod> {
    this.#checkPrivateAddress(input.allowPrivateAddress, undefined, actor);
    const { bindPassword, name, displayName, ...settings } = input;
    await testConnection(settings, bindPassword);
    const id = randomUUID();
    const m = await this.#d.repo.create({
      id,
      organizationId: org.id,
      type: 'ldap',
      name,
      displayName,
      settings,
      sealed: this.#seal({ organizationId: org.id, id }, { bindPassword }),
    });
    await this.#audited('sign_in_method.created', org, m, actor, request);
    return m;
  }

  async patchLdap(
    org: Organization,
    name: string,
    patch: Partial<LdapInput>,
    actor: Actor,
    request?: RequestInfo,
  ): Promise<StoredMethod> {
    const m = await this.#patchable(org, name, 'ldap', patch, actor);
    const { bindPassword, name: _n, displayName, ...rest } = patch;
    const settings = { ...m.settings, ...rest } as unknown as LdapSettings;
    const sealed = { ...m.sealed, ...this.#seal(m, { bindPassword: bindPassword || undefined }) };
    await testConnection(settings, this.#open({ ...m, sealed }).bindPassword);
    return this.#update(
      org,
      m,
      {
        displayName: displayName ?? m.displayName,
        settings: settings as unknown as Record<string, unknown>,
        sealed,
      },
      actor,
      request,
    );
  }

  /** Tests LDAP settings (a new method's, or a saved one's), optionally signing in as a user. */
  async testLdap(
    settings: LdapSettings,
    bindPassword: string | undefined,
    actor: Actor,
    user?: { username?: string; password?: string },
  ): Promise<void> {
    this.#checkPrivateAddress(settings.allowPrivateAddress, undefined, actor);
    await testConnection(settings, bindPassword);
    if (user?.username) {
      const found = await ldapAuthenticate(
        settings,
        bindPassword,
        user.username,
        user.password ?? '',
      );
      if (!found)
        throw new AppError(
          'validation_failed',
          `The directory did not accept "${user.username}" with that password.`,
        );
    }
  }

  /** Tests a saved LDAP method with changes not saved yet (a blank bind password: the stored one), as patchLdap would. */
  async testLdapPatch(
    org: Organization,
    name: string,
    patch: Partial<LdapInput>,
    actor: Actor,
  ): Promise<void> {
    const m = await this.#patchable(org, name, 'ldap', patch, actor);
    const { bindPassword, name: _n, displayName: _d, ...rest } = patch;
    await testConnection(
      { ...m.settings, ...rest } as unknown as LdapSettings,
      bindPassword || this.#open(m).bindPassword,
    );
  }

  async testSavedLdap(
    org: Organization,
    name: string,
    user?: { username?: string; password?: string },
  ): Promise<void> {
    const m = await this.require(org, name, 'ldap');
    const settings = m.settings as unknown as LdapSettings;
    await testConnection(settings, this.#open(m).bindPassword);
    if (user?.username) {
      const found = await ldapAuthenticate(
        settings,
        this.#open(m).bindPassword,
        user.username,
        user.password ?? '',
      );
      if (!found)
        throw new AppError(
          'validation_failed',
          `The directory did not accept "${user.username}" with that password.`,
        );
    }
  }

  async delete(
    org: Organization,
    name: string,
    actor: Actor,
    request?: RequestInfo,
  ): Promise<void> {
    const m = await this.require(org, name);
    await this.#d.repo.delete(m.id);
    this.#configs.delete(m.id);
    await this.#audited('sign_in_method.deleted', org, m, actor, request);
  }

  async #update(
    org: Organization,
    m: StoredMethod,
    change: Pick<StoredMethod, 'displayName' | 'settings' | 'sealed'>,
    actor: Actor,
    request?: RequestInfo,
  ) {
    await this.#d.repo.update(m.id, change);
    this.#configs.delete(m.id);
    await this.#audited('sign_in_method.updated', org, m, actor, request);
    return (await this.#d.repo.findById(m.id))!;
  }

  /** The stored method a patch applies to, once the patch is allowed (no renaming; private addresses for platform admins only). */
  async #patchable(
    org: Organization,
    name: string,
    type: MethodType,
    patch: { name?: string; allowPrivateAddress?: boolean },
    actor: Actor,
  ): Promise<StoredMethod> {
    const m = await this.require(org, name, type);
    if (patch.name !== undefined && patch.name !== m.name)
      throw new AppError('validation_failed', 'A method cannot be renamed; create a new one.');
    this.#checkPrivateAddress(
      patch.allowPrivateAddress,
      m.settings.allowPrivateAddress as boolean | undefined,
      actor,
    );
    return m;
  }

  #checkPrivateAddress(wanted: boolean | undefined, current: boolean | undefined, actor: Actor) {
    if (wanted !== undefined && wanted !== (current ?? false) && !actor.platformAdmin) {
      throw new AppError('forbidden', 'Only platform admins can change allowPrivateAddress.');
    }
  }

  #checkEndpoints(s: OidcSettings) {
    if (s.discoverEndpoints !== false && !s.issuer)
      throw new AppError('validation_failed', 'issuer is required to discover the endpoints.');
    if (s.discoverEndpoints === false) {
      for (const f of ['issuer', 'authorizationEndpoint', 'tokenEndpoint', 'jwksUri'] as const) {
        if (!s[f])
          throw new AppError(
            'validation_failed',
            `${f} is required when discoverEndpoints is false.`,
          );
      }
    }
  }

  #seal(
    m: { organizationId: string; id: string },
    secrets: Partial<Record<SecretField, string | undefined>>,
  ) {
    const out: StoredMethod['sealed'] = {};
    for (const [field, value] of Object.entries(secrets) as [SecretField, string | undefined][]) {
      if (value) out[field] = this.#d.envelope.seal(value, aad(m, field));
    }
    return out;
  }

  #open(m: StoredMethod): Partial<Record<SecretField, string>> {
    const out: Partial<Record<SecretField, string>> = {};
    for (const field of SECRET_FIELDS[m.type]) {
      const s = m.sealed[field];
      if (s) out[field] = this.#d.envelope.open(s, aad(m, field)).toString('utf8');
    }
    return out;
  }

  async #audited(
    type: string,
    org: Organization,
    m: StoredMethod,
    actor: Actor,
    request?: RequestInfo,
  ) {
    await this.#d.audit.record({
      type,
      accountId: actor.id,
      actorId: actor.id,
      request,
      details: { organization: org.name, method: m.name, methodType: m.type },
    });
  }

  // --- sign-in -------------------------------------------------------------------------

  /** Whether password sign-in is turned off for the account (disable-password-login in one of its organizations). */
  async passwordDisabledFor(account: Account): Promise<Organization | undefined> {
    if (account.platformAdmin) return undefined; // the operator's way in is never removed by an organization
    for (const m of await this.#d.organizations.membershipsOf(account.id)) {
      if (
        (await this.#d.policies.effective<boolean>(DISABLE_PASSWORD_LOGIN, m.organization.id)) ===
        true
      )
        return m.organization;
    }
    return undefined;
  }

  /**
   * What the sign-in page offers for what the user typed: the methods of their organization
   * (or of the organization they named). Unknown identifiers get the password form only.
   */
  async optionsFor(identifier: string): Promise<SignInOptions> {
    const account = identifier ? await this.#d.accounts.findByLogin(identifier) : undefined;
    if (account) {
      const memberships = await this.#d.organizations.membershipsOf(account.id);
      const methods = (
        await Promise.all(memberships.map((m) => this.#d.repo.listFor(m.organization.id)))
      )
        .flat()
        .filter((m) => m.type !== 'password');
      return {
        organization: memberships[0]?.organization,
        methods,
        password: !(await this.passwordDisabledFor(account)),
      };
    }
    const org = /^[a-z0-9-]+$/.test(identifier)
      ? await this.#d.organizations.findByName(identifier)
      : undefined;
    if (!org) return { methods: [], password: true };
    const methods = (await this.#d.repo.listFor(org.id)).filter((m) => m.type !== 'password');
    const disabled =
      (await this.#d.policies.effective<boolean>(DISABLE_PASSWORD_LOGIN, org.id)) === true;
    return {
      organization: org,
      methods,
      password: !disabled || methods.length === 0,
      byOrganizationName: true,
    };
  }

  /** The relying-party configuration of an OIDC method (discovered once, then kept until the method changes). */
  async relyingParty(m: StoredMethod): Promise<Configuration> {
    const cached = this.#configs.get(m.id);
    if (cached && cached.at === m.updatedAt.getTime()) return cached.config;
    const config = relyingParty(
      m.settings as unknown as OidcSettings,
      this.#open(m) as OidcSecrets,
    );
    this.#configs.set(m.id, { at: m.updatedAt.getTime(), config });
    config.catch(() => this.#configs.delete(m.id));
    return config;
  }

  /** The account an upstream OIDC identity signs in to (linked, or created just in time), or a refusal. */
  async resolveOidc(
    m: StoredMethod,
    identity: UpstreamIdentity,
    request?: RequestInfo,
  ): Promise<FederatedAccount> {
    const s = m.settings as Record<string, string | boolean | null | undefined>;
    const mapped = mapIdentity(identity.claims, {
      username: (s.usernameClaim as string) || 'username',
      email: (s.emailClaim as string) || 'email',
      externalId: (s.externalIdClaim as string) || 'sub',
      titleCase: s.titleCase as boolean | null,
    });
    return this.#resolve(m, mapped, s.allowNewUserCreation === true, request, {
      acr: identity.acr ?? '',
      upstreamAmr: identity.amr.join(' '),
    });
  }

  /**
   * An LDAP sign-in: the directory checks the password, throttled exactly like a local password
   * (the same per-account, per-device and per-IP subjects, see AccountService.authenticate).
   */
  async ldapSignIn(
    m: StoredMethod,
    username: string,
    password: string,
    client: SignInClient,
    request?: RequestInfo,
  ): Promise<FederatedAccount> {
    const s = m.settings as unknown as LdapSettings & {
      allowNewUserCreation?: boolean | null;
      titleCase?: boolean | null;
    };
    const local = await this.#d.accounts.findByLogin(username);
    const subject = local
      ? local.id
      : `unknown:${createHash('sha256').update(username.trim().toLowerCase()).digest('hex')}`;
    const known =
      local && client.device?.accountId === local.id ? client.device.deviceId : undefined;
    const subjects = known
      ? [
          {
            key: `login:device:${subject}:${known}`,
            rule: this.#d.rules.account,
            resetOnSuccess: true,
          },
        ]
      : [
          { key: `login:acct:${subject}`, rule: this.#d.rules.account, resetOnSuccess: true },
          { key: `login:ip:${client.ip}`, rule: this.#d.rules.ip },
        ];
    const bindPassword = this.#open(m).bindPassword;
    const reservation = await this.#d.throttle.reserve(subjects);
    if (!reservation.attempt) {
      throw new AppError(
        'rate_limited',
        `Too many failed sign-in attempts. Try again in ${reservation.wait} seconds.`,
        {
          headers: { 'Retry-After': String(reservation.wait) },
          params: { retryAfter: reservation.wait },
        },
      );
    }
    let user;
    try {
      user = await ldapAuthenticate(s, bindPassword, username, password);
    } catch (err) {
      await reservation.attempt.cancel();
      throw err;
    }
    if (!user) {
      await reservation.attempt.failed();
      await this.#d.audit.record({
        type: 'sign_in.federated',
        outcome: 'failure',
        accountId: local?.id,
        request,
        details: { method: m.name, methodType: 'ldap' },
      });
      throw new AppError('unauthenticated', INVALID_CREDENTIALS);
    }
    await reservation.attempt.succeeded();
    const mapped = mapIdentity(user.attributes, {
      username: s.usernameAttribute || 'uid',
      email: s.emailAttribute || 'mail',
      externalId: s.externalIdAttribute || 'entryUUID',
      name: s.displayNameAttribute || 'cn',
      titleCase: s.titleCase,
    });
    return this.#resolve(m, mapped, s.allowNewUserCreation === true, request, {});
  }

  async #resolve(
    m: StoredMethod,
    mapped: ReturnType<typeof mapIdentity>,
    allowNew: boolean,
    request: RequestInfo | undefined,
    extra: Record<string, string>,
  ): Promise<FederatedAccount> {
    const org = await this.#orgOf(m);
    const fail = async (message: string, code: 'forbidden' | 'unauthenticated' = 'forbidden') => {
      await this.#d.audit.record({
        type: 'sign_in.federated',
        outcome: 'failure',
        request,
        details: {
          organization: org.name,
          method: m.name,
          methodType: m.type,
          externalId: mapped.externalId,
          reason: message,
        },
      });
      return new AppError(code, message);
    };
    if (!mapped.externalId)
      throw await fail(
        `The identity provider sent no ${m.type === 'oidc' ? 'external id claim' : 'external id attribute'}.`,
      );
    let link = await this.#d.repo.findLink(m.id, mapped.externalId);
    let created = false;
    if (!link) {
      if (!allowNew)
        throw await fail(
          `Your ${m.displayName || m.name} identity is not linked to a Keyward account. Ask an administrator of ${org.displayName || org.name} to link it.`,
        );
      const made = await this.#createJustInTime(m, org, mapped).catch(async (err: unknown) => {
        throw err instanceof AppError ? await fail(err.message) : err;
      });
      link = made.link;
      created = made.created;
    }
    const account = await this.#d.accounts.findById(link.accountId);
    if (!account || account.disabled)
      throw await fail('This account is disabled. Contact your administrator.');
    if (
      !(await this.#d.organizations.membershipsOf(account.id)).some(
        (x) => x.organization.id === org.id,
      )
    ) {
      throw await fail(`This account is no longer a member of ${org.displayName || org.name}.`);
    }
    await this.#d.audit.record({
      type: 'sign_in.federated',
      accountId: account.id,
      request,
      details: {
        organization: org.name,
        method: m.name,
        methodType: m.type,
        externalId: mapped.externalId,
        user: created ? 'new' : 'linked',
        ...extra,
      },
    });
    return { account, created };
  }

  /**
   * Creates the account and its link once, even when the same first sign-in arrives several times
   * at once: one request claims the creation (a once-marker), the others wait for its link.
   */
  async #createJustInTime(
    m: StoredMethod,
    org: Organization,
    mapped: ReturnType<typeof mapIdentity>,
  ): Promise<{ link: ExternalIdentity; created: boolean }> {
    if (!USERNAME.test(mapped.username))
      throw new AppError(
        'validation_failed',
        `The identity provider sent no usable username ("${mapped.username.slice(0, 64)}").`,
      );
    if (!mapped.email.includes('@'))
      throw new AppError(
        'validation_failed',
        'The identity provider sent no email address, which a new account needs.',
      );
    const key = `sign-in-jit:${m.id}:${createHash('sha256').update(mapped.externalId).digest('base64url')}`;
    if (!(await this.#d.once.claim(key, new Date(this.#d.now() + 60_000)))) {
      for (let i = 0; i < 100; i++) {
        const link = await this.#d.repo.findLink(m.id, mapped.externalId);
        if (link) return { link, created: false };
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new AppError(
        'conflict',
        'This account is being created by another sign-in; try again.',
      );
    }
    if (
      (await this.#d.accounts.findByLogin(mapped.username)) ||
      (await this.#d.accounts.findByLogin(mapped.email))
    ) {
      throw new AppError(
        'conflict',
        `A Keyward account with the username "${mapped.username}" or email ${mapped.email} already exists and is not linked to this identity. Ask an administrator to link it.`,
      );
    }
    // A federated account has no usable password: a random one nobody knows.
    const account = await this.#d.accounts.register({
      username: mapped.username,
      email: mapped.email,
      displayName: mapped.displayName,
      password: randomBytes(32).toString('base64url'),
    });
    await this.#d.organizations.addMember(org.id, account.id);
    const link = {
      methodId: m.id,
      externalId: mapped.externalId,
      accountId: account.id,
      organizationId: org.id,
    };
    if (!(await this.#d.repo.link(link)))
      throw new AppError(
        'conflict',
        'This identity was linked by someone else meanwhile; try again.',
      );
    return { link: { ...link, createdAt: new Date(this.#d.now()) }, created: true };
  }

  async #orgOf(m: StoredMethod): Promise<Organization> {
    const found = await this.#d.organizationById(m.organizationId);
    if (!found)
      throw new AppError('not_found', 'The organization of this sign-in method no longer exists.');
    return found;
  }

  // --- links ---------------------------------------------------------------------------

  /** An account's external identities, with the method they belong to. */
  async linksOf(accountId: string): Promise<{ link: ExternalIdentity; method: StoredMethod }[]> {
    const out = [];
    for (const link of await this.#d.repo.linksOf(accountId)) {
      const method = await this.#d.repo.findById(link.methodId);
      if (method) out.push({ link, method });
    }
    return out;
  }

  async link(
    org: Organization,
    username: string,
    methodName: string,
    externalId: string,
    actor: Actor,
    request?: RequestInfo,
  ): Promise<void> {
    const m = await this.require(org, methodName);
    if (m.type === 'password')
      throw new AppError('validation_failed', 'Only OIDC and LDAP identities can be linked.');
    const account = await this.memberOf(org, username);
    if (
      !(await this.#d.repo.link({
        methodId: m.id,
        externalId,
        accountId: account.id,
        organizationId: org.id,
        createdBy: actor.id,
      }))
    ) {
      throw new AppError(
        'conflict',
        `The ${m.name} identity "${externalId}" is already linked to an account.`,
      );
    }
    await this.#d.audit.record({
      type: 'external_identity.linked',
      accountId: account.id,
      actorId: actor.id,
      request,
      details: { organization: org.name, method: m.name, externalId },
    });
  }

  async unlink(
    org: Organization,
    username: string,
    methodName: string,
    externalId: string,
    actor: Actor,
    request?: RequestInfo,
  ): Promise<void> {
    const m = await this.require(org, methodName);
    const account = await this.memberOf(org, username);
    const link = await this.#d.repo.findLink(m.id, externalId);
    if (!link || link.accountId !== account.id)
      throw new AppError('not_found', `${username} has no ${m.name} identity "${externalId}".`);
    await this.#d.repo.unlink(m.id, externalId);
    await this.#d.audit.record({
      type: 'external_identity.unlinked',
      accountId: account.id,
      actorId: actor.id,
      request,
      details: { organization: org.name, method: m.name, externalId },
    });
  }

  async memberOf(org: Organization, username: string): Promise<Account> {
    const account = await this.#d.accounts.findByLogin(username);
    if (
      !account ||
      !(await this.#d.organizations.membershipsOf(account.id)).some(
        (x) => x.organization.id === org.id,
      )
    ) {
      throw new AppError('not_found', `No member "${username}" in organization "${org.name}".`);
    }
    return account;
  }
}
