/**
 * Administration of an organization's sign-in methods (password, upstream OIDC, LDAP): create,
 * read, patch (a blank secret keeps the stored one), test and delete, with sealed, write-only
 * secrets, the private-address rule and an audit event for every change. Signing in through a
 * method is federated-sign-in.ts; the links of external identities are identity-links.ts.
 */
import { randomUUID } from 'node:crypto';
import { AppError } from '../../platform/errors/app-error.ts';
import type { Organization } from '../../platform/directory/organization-repository.ts';
import type { AuditService, RequestInfo } from '../../platform/directory/audit-service.ts';
import type {
  MethodType,
  SignInMethodRepository,
  StoredMethod,
} from './sign-in-method-repository.ts';
import {
  checkClientAuthentication,
  type OidcSecrets,
  type OidcSettings,
} from './oidc-relying-party.ts';
import {
  authenticate as ldapAuthenticate,
  testConnection,
  type LdapSettings,
} from './ldap-directory.ts';
import type { LdapInput, OidcInput } from './schema.ts';
import type { MethodSecrets } from './method-secrets.ts';

export interface Actor {
  id: string;
  platformAdmin: boolean;
}

export interface SignInMethodDeps {
  repo: SignInMethodRepository;
  secrets: MethodSecrets;
  audit: AuditService;
}

export class SignInMethodService {
  readonly #d: SignInMethodDeps;

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
    const sealed = this.#d.secrets.seal(
      { organizationId: org.id, id },
      { clientSecret, privateKeyPEM },
    );
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
      ...this.#d.secrets.seal(m, {
        clientSecret: clientSecret || undefined,
        privateKeyPEM: privateKeyPEM || undefined,
      }),
    };
    checkClientAuthentication(settings, this.#d.secrets.open({ ...m, sealed }) as OidcSecrets);
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
      sealed: this.#d.secrets.seal({ organizationId: org.id, id }, { bindPassword }),
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
    const sealed = {
      ...m.sealed,
      ...this.#d.secrets.seal(m, { bindPassword: bindPassword || undefined }),
    };
    await testConnection(settings, this.#d.secrets.open({ ...m, sealed }).bindPassword);
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
      bindPassword || this.#d.secrets.open(m).bindPassword,
    );
  }

  async testSavedLdap(
    org: Organization,
    name: string,
    user?: { username?: string; password?: string },
  ): Promise<void> {
    const m = await this.require(org, name, 'ldap');
    const settings = m.settings as unknown as LdapSettings;
    await testConnection(settings, this.#d.secrets.open(m).bindPassword);
    if (user?.username) {
      const found = await ldapAuthenticate(
        settings,
        this.#d.secrets.open(m).bindPassword,
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
}
