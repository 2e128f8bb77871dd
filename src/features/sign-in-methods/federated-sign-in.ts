/**
 * Signing in through an organization's methods: which methods an identifier's organization
 * offers, whether it turned password sign-in off, and turning a verified external identity (an
 * upstream OIDC ID token, an LDAP entry) into a Keyward account — by its (method, external id)
 * link, by just-in-time creation when the method allows it, or not at all. Never by email alone.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Configuration } from 'openid-client';
import { AppError } from '../../platform/errors/app-error.ts';
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
  SignInMethodRepository,
  StoredMethod,
} from './sign-in-method-repository.ts';
import {
  relyingParty,
  type OidcSecrets,
  type OidcSettings,
  type UpstreamIdentity,
} from './oidc-relying-party.ts';
import { authenticate as ldapAuthenticate, type LdapSettings } from './ldap-directory.ts';
import type { MethodSecrets } from './method-secrets.ts';

export const DISABLE_PASSWORD_LOGIN = 'disable-password-login';
const USERNAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

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

export interface FederatedSignInDeps {
  repo: SignInMethodRepository;
  secrets: MethodSecrets;
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

export class FederatedSignIn {
  readonly #d: FederatedSignInDeps;
  readonly #configs = new Map<string, { at: number; config: Promise<Configuration> }>();

  constructor(deps: FederatedSignInDeps) {
    this.#d = deps;
  }

  findById(id: string): Promise<StoredMethod | undefined> {
    return this.#d.repo.findById(id);
  }

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
      this.#d.secrets.open(m) as OidcSecrets,
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
    const bindPassword = this.#d.secrets.open(m).bindPassword;
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
}
