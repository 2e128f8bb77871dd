/**
 * Lifetime rules for API keys and CLI tokens (contract §2.3, §4), from organization policies:
 *
 * - `max-api-key-ttl` (days, default 730; 0 = Unlimited): the longest an API key may live. Only an
 *   Unlimited policy allows keys that never expire ("duration": "" or "0").
 * - `api-key-expiry-choice` (default true): users may choose their own expiration. When false, a
 *   request naming a lifetime is refused; keys get the maximum lifetime and CLI tokens the default.
 * - `cli-token-ttl` (hours 1–24, default 24): a CLI token's lifetime when none is chosen.
 */
import { z } from 'zod';
import { AppError } from '../../platform/errors/app-error.ts';
import type { PolicyService } from '../../platform/directory/policy-service.ts';

export const MAX_API_KEY_TTL = 'max-api-key-ttl';
export const API_KEY_EXPIRY_CHOICE = 'api-key-expiry-choice';
export const CLI_TOKEN_TTL = 'cli-token-ttl';
export const DEFAULT_MAX_KEY_DAYS = 730;
export const MAX_TOKEN_HOURS = 24;
const DAY = 86_400;

export function registerCredentialPolicies(policies: PolicyService): void {
  policies.register({
    name: MAX_API_KEY_TTL,
    description:
      'Maximum API key lifetime in whole days (0 means Unlimited: keys may also never expire). Default 730.',
    schema: z.number({ error: 'expected a whole number of days' }).int().min(0).max(36_500),
    defaultValue: DEFAULT_MAX_KEY_DAYS,
  });
  policies.register({
    name: API_KEY_EXPIRY_CHOICE,
    description:
      'Whether users may choose the expiration of their own API keys and CLI tokens (true or false). Default true.',
    schema: z.boolean({ error: 'expected true or false' }),
    defaultValue: true,
  });
  policies.register({
    name: CLI_TOKEN_TTL,
    description:
      'Lifetime in hours (1–24) of a CLI token when the user does not (or may not) choose one. Default 24.',
    schema: z
      .number({ error: 'expected a whole number of hours' })
      .int()
      .min(1)
      .max(MAX_TOKEN_HOURS),
    defaultValue: MAX_TOKEN_HOURS,
  });
}

export interface LifetimeRules {
  /** Users may choose their own expiration. */
  choice: boolean;
  /** Maximum API key lifetime in days; undefined when Unlimited. */
  maxKeyDays?: number;
  /** CLI token lifetime (hours) when none is chosen. */
  tokenDefaultHours: number;
}

export async function lifetimeRules(
  policies: PolicyService,
  organizationId?: string,
): Promise<LifetimeRules> {
  const all = await policies.effectiveAll(organizationId);
  const max = Number(all[MAX_API_KEY_TTL]?.value ?? DEFAULT_MAX_KEY_DAYS);
  return {
    choice: all[API_KEY_EXPIRY_CHOICE]?.value !== false,
    maxKeyDays: max === 0 ? undefined : max,
    tokenDefaultHours: Math.min(
      Number(all[CLI_TOKEN_TTL]?.value ?? MAX_TOKEN_HOURS),
      MAX_TOKEN_HOURS,
    ),
  };
}

export interface KeyLifetimeRequest {
  /** Whole days as a string (contract) or number; "" or 0 = never expires. */
  duration?: string | number;
  /** Seconds (900…8639913600). */
  expiresIn?: number;
}

const refuseChoice = () =>
  new AppError(
    'forbidden',
    "Your organization's policy sets the expiration of API keys and tokens; send the request without duration, expiresIn or ttl.",
  );

/** The key's expiry (undefined: never), or a 4xx saying which rule the request broke. */
export function keyExpiry(
  rules: LifetimeRules,
  req: KeyLifetimeRequest,
  nowMs: number,
): Date | undefined {
  const { duration, expiresIn } = req;
  if (duration !== undefined && expiresIn !== undefined) {
    throw new AppError(
      'validation_failed',
      'duration and expiresIn cannot be combined: send one of them.',
    );
  }
  if (!rules.choice && (duration !== undefined || expiresIn !== undefined)) throw refuseChoice();
  const max = rules.maxKeyDays;
  const limitText = `Your organization allows API keys to live at most ${max} days.`;
  let seconds: number | undefined;
  if (expiresIn !== undefined) {
    seconds = expiresIn;
  } else if (duration !== undefined) {
    const text = String(duration).trim();
    if (!/^[0-9]{0,5}$/.test(text))
      throw new AppError(
        'validation_failed',
        'duration must be a whole number of days (up to 5 digits), or empty for no expiration.',
      );
    const days = text === '' ? 0 : Number(text);
    if (days === 0) {
      if (max !== undefined)
        throw new AppError(
          'validation_failed',
          `${limitText} Keys that never expire need an Unlimited max-api-key-ttl policy.`,
        );
      return undefined;
    }
    seconds = days * DAY;
  } else {
    return max === undefined ? undefined : new Date(nowMs + max * DAY * 1000);
  }
  if (max !== undefined && seconds > max * DAY)
    throw new AppError('validation_failed', `${limitText} Choose a shorter duration.`);
  return new Date(nowMs + seconds * 1000);
}

/** A CLI token's expiry: the chosen hours (1–24) or the organization's default. */
export function tokenExpiry(
  rules: LifetimeRules,
  ttlHours: number | undefined,
  nowMs: number,
): Date {
  if (ttlHours !== undefined && !rules.choice) throw refuseChoice();
  const hours = ttlHours ?? rules.tokenDefaultHours;
  if (!Number.isInteger(hours) || hours < 1 || hours > MAX_TOKEN_HOURS)
    throw new AppError('validation_failed', 'ttl must be a whole number of hours from 1 to 24.');
  return new Date(nowMs + hours * 3_600_000);
}
