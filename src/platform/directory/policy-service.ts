/**
 * Organization and platform policies (contract §4). Each policy is Enabled/Disabled (a value),
 * or Not set. Resolution: a platform-level value wins; else the organization's; else the
 * platform default from configuration. Features register the policies they understand.
 */
import type { z } from 'zod';
import { AppError } from '../errors/app-error.ts';
import type { PolicyRepository } from './policy-repository.ts';

export interface PolicyDefinition<T = unknown> {
  name: string;
  description: string;
  schema: z.ZodType<T>;
  /** Platform default used when neither the platform nor the organization set a value. */
  defaultValue?: T;
  /** Only platform admins may set it at organization level. */
  platformAdminOnly?: boolean;
}

export type PolicyLevel = 'platform' | 'organization' | 'default';
export interface EffectivePolicy {
  name: string;
  level: PolicyLevel;
  value: unknown;
  updatedAt?: Date;
}

export const PLATFORM_SCOPE = 'platform';
export const orgScope = (organizationId: string) => `org:${organizationId}`;

export class PolicyService {
  readonly #repo: PolicyRepository;
  readonly #defs = new Map<string, PolicyDefinition>();
  readonly #listeners: ((e: { scope: string; name: string; value: unknown }) => Promise<void>)[] =
    [];

  constructor(repo: PolicyRepository) {
    this.#repo = repo;
  }

  register<T>(def: PolicyDefinition<T>): void {
    this.#defs.set(def.name, def as PolicyDefinition);
  }

  definition(name: string): PolicyDefinition {
    const def = this.#defs.get(name);
    if (!def)
      throw new AppError(
        'not_found',
        `Unknown policy "${name}". Known policies: ${[...this.#defs.keys()].sort().join(', ')}.`,
      );
    return def;
  }

  /** Called after a policy is set or cleared (e.g. to re-check credentials). */
  onChange(listener: (e: { scope: string; name: string; value: unknown }) => Promise<void>): void {
    this.#listeners.push(listener);
  }

  /** Effective values of every registered policy for an organization (or the platform alone). */
  async effectiveAll(organizationId?: string): Promise<Record<string, EffectivePolicy>> {
    const scopes = organizationId ? [PLATFORM_SCOPE, orgScope(organizationId)] : [PLATFORM_SCOPE];
    const stored = await this.#repo.list(scopes);
    const out: Record<string, EffectivePolicy> = {};
    for (const def of this.#defs.values()) {
      const platform = stored.find((p) => p.scope === PLATFORM_SCOPE && p.name === def.name);
      const org = organizationId
        ? stored.find((p) => p.scope === orgScope(organizationId) && p.name === def.name)
        : undefined;
      if (platform)
        out[def.name] = {
          name: def.name,
          level: 'platform',
          value: platform.value,
          updatedAt: platform.updatedAt,
        };
      else if (org)
        out[def.name] = {
          name: def.name,
          level: 'organization',
          value: org.value,
          updatedAt: org.updatedAt,
        };
      else if (def.defaultValue !== undefined)
        out[def.name] = { name: def.name, level: 'default', value: def.defaultValue };
    }
    return out;
  }

  async effective<T>(name: string, organizationId?: string): Promise<T | undefined> {
    this.definition(name);
    return (await this.effectiveAll(organizationId))[name]?.value as T | undefined;
  }

  /** Values as set at one scope only (what an admin page shows as Enabled/Disabled/Not set). */
  async setAt(scope: string): Promise<Record<string, unknown>> {
    return Object.fromEntries((await this.#repo.list([scope])).map((p) => [p.name, p.value]));
  }

  async set(scope: string, name: string, rawValue: unknown, actorId?: string): Promise<unknown> {
    const def = this.definition(name);
    const parsed = def.schema.safeParse(rawValue);
    if (!parsed.success) {
      throw new AppError(
        'validation_failed',
        `Invalid value for policy "${name}": ${parsed.error.issues[0].message}. ${def.description}`,
      );
    }
    await this.#repo.set(scope, name, parsed.data, actorId);
    for (const l of this.#listeners) await l({ scope, name, value: parsed.data });
    return parsed.data;
  }

  async clear(scope: string, name: string): Promise<void> {
    this.definition(name);
    await this.#repo.clear(scope, name);
    for (const l of this.#listeners) await l({ scope, name, value: undefined });
  }
}
