/**
 * The device flow's rules (RFC 8628), independent of HTTP:
 *
 * - polling: a device that polls again sooner than its interval gets `slow_down`, and its
 *   interval grows by 5 s for that and every later poll (§3.5);
 * - expiry: an expired device or user code is recognised as expired, not as unknown;
 * - brute force: wrong user-code entries are counted per IP and per account; past the limit
 *   (default 5 failures, then 15 minutes) code entry stops. With 20^8 ≈ 2^34.6 possible codes and a
 *   lock longer than a code's 10-minute life, one IP's chance of guessing a live code stays below
 *   5 / 20^8 ≈ 2^-32.3 per code lifetime (security-and-formats: "below 2^-32");
 * - policy: `disable-device-login` (organization or platform) refuses approval for members.
 */
import { z } from 'zod';
import type {
  Reservation,
  ThrottleRule,
  ThrottleService,
  ThrottleSubject,
} from '../../platform/throttle/throttle-service.ts';
import type { PolicyService } from '../../platform/directory/policy-service.ts';
import type { OrganizationService } from '../../platform/directory/organization-service.ts';
import { deviceRequestKey, type DeviceRequestRepository } from './device-request-repository.ts';
import type { OnceClaims } from '../../platform/store/once-marker-repository.ts';

export const DEVICE_LOGIN_POLICY = 'disable-device-login';
/** Clock and network jitter forgiven when judging whether a device polled too early. */
const POLL_GRACE_MS = 500;

export function registerDeviceLoginPolicy(policies: PolicyService): void {
  policies.register({
    name: DEVICE_LOGIN_POLICY,
    description:
      'When true, members cannot sign in to the CLI with a one-time device code (OAuth device flow); browser sign-in stays available.',
    schema: z.boolean({ error: 'must be true or false' }),
    defaultValue: false,
  });
}

export interface DeviceFlowRules {
  intervalSeconds: number;
  throttle: { ip: ThrottleRule; account: ThrottleRule };
}

export type PollVerdict = 'ok' | 'slow_down' | 'unknown';

export class DeviceFlowService {
  readonly #requests: DeviceRequestRepository;
  readonly #once: OnceClaims;
  readonly #throttle: ThrottleService;
  readonly #policies: PolicyService;
  readonly #organizations: OrganizationService;
  readonly #rules: DeviceFlowRules;
  readonly #now: () => number;

  constructor(deps: {
    requests: DeviceRequestRepository;
    once: OnceClaims;
    throttle: ThrottleService;
    policies: PolicyService;
    organizations: OrganizationService;
    rules: DeviceFlowRules;
    now: () => number;
  }) {
    this.#requests = deps.requests;
    this.#once = deps.once;
    this.#throttle = deps.throttle;
    this.#policies = deps.policies;
    this.#organizations = deps.organizations;
    this.#rules = deps.rules;
    this.#now = deps.now;
  }

  get intervalSeconds(): number {
    return this.#rules.intervalSeconds;
  }

  /** A device authorization was issued: remember its expiry and polling interval. */
  async started(r: {
    deviceCode: string;
    userCode: string;
    clientId: string;
    expiresInSeconds: number;
  }): Promise<void> {
    await this.#requests.create({
      deviceCode: r.deviceCode,
      userCode: r.userCode,
      clientId: r.clientId,
      expiresAt: new Date(this.#now() + r.expiresInSeconds * 1000),
      intervalSeconds: this.#rules.intervalSeconds,
    });
  }

  /**
   * Judges a poll that the provider answered `authorization_pending`. Of the polls that follow
   * one poll, only one may be on time: it claims the right to succeed that poll (a once-marker),
   * so simultaneous polls get one `authorization_pending` and `slow_down` for the rest.
   */
  async poll(deviceCode: string): Promise<PollVerdict> {
    const request = await this.#requests.forPoll(deviceCode);
    if (!request) return 'unknown';
    const now = this.#now();
    const previous = request.lastPollAt?.getTime() ?? 0;
    const onTime = now - previous >= request.intervalSeconds * 1000 - POLL_GRACE_MS;
    const won =
      onTime &&
      (await this.#once.claim(
        `device-poll:${deviceRequestKey(deviceCode)}:${previous}`,
        request.expiresAt,
      ));
    // Every poll, on time or not, starts the next interval (as a device that waits must).
    await this.#requests.recordPoll(deviceCode, new Date(now));
    if (won) return 'ok';
    await this.#requests.slowDown(deviceCode, request.expiresAt);
    return 'slow_down';
  }

  async isExpiredDeviceCode(deviceCode: string): Promise<boolean> {
    const r = await this.#requests.findByDeviceCode(deviceCode);
    return !!r && r.expiresAt.getTime() <= this.#now();
  }

  async isExpiredUserCode(userCode: string): Promise<boolean> {
    const r = await this.#requests.findByUserCode(userCode);
    return !!r && r.expiresAt.getTime() <= this.#now();
  }

  #subjects(ip: string, accountId: string): ThrottleSubject[] {
    return [
      { key: `device-code:ip:${ip}`, rule: this.#rules.throttle.ip },
      { key: `device-code:acct:${accountId}`, rule: this.#rules.throttle.account },
    ];
  }

  /** Seconds before this caller may enter a code again (0: go ahead). */
  retryAfter(ip: string, accountId: string): Promise<number> {
    return this.#throttle.retryAfter(this.#subjects(ip, accountId));
  }

  /**
   * Reserves one code entry before the code is looked at, so simultaneous guesses are all
   * counted. A right code gives its reservation back; wrong ones stay and are never reset by a
   * right code (an attacker could enter their own).
   */
  reserveCodeEntry(ip: string, accountId: string): Promise<Reservation> {
    return this.#throttle.reserve(this.#subjects(ip, accountId));
  }

  /** Why the account may not approve a device sign-in, or undefined when it may. */
  async refusal(accountId: string): Promise<string | undefined> {
    const memberships = await this.#organizations.membershipsOf(accountId);
    const scopes = memberships.length ? memberships.map((m) => m.organization) : [undefined];
    for (const organization of scopes) {
      const effective = (await this.#policies.effectiveAll(organization?.id))[DEVICE_LOGIN_POLICY];
      if (effective?.value !== true) continue;
      return effective.level === 'platform' || !organization
        ? `Signing in on a device with a one-time code is turned off on this platform (policy ${DEVICE_LOGIN_POLICY}).`
        : `Your organization "${organization.displayName}" does not allow signing in on a device with a one-time code (policy ${DEVICE_LOGIN_POLICY}). Ask an administrator of ${organization.name} if you need it.`;
    }
    return undefined;
  }

  sweep(): Promise<number> {
    return this.#requests.sweepExpired();
  }
}
