/**
 * The sudo rule, one for every feature:
 * - Changes that add a way in or weaken sign-in (SSH login keys, SSH private keys, API keys,
 *   any 2-step verification change, resetting someone's 2-step verification) need a browser
 *   session in sudo mode: a verification within the configured window — a second factor when the
 *   user has one, otherwise the password; signing in counts. API keys, CLI tokens and OAuth
 *   access tokens can never make them: a leaked credential must not be able to plant a key.
 * - Changes that only take access away (deleting your credentials and keys) and short-lived CLI
 *   tokens need sudo mode too in a browser session, but a credential in the Authorization header
 *   may make them itself: whoever holds a credential can always revoke it at once.
 */
import { usedSecondFactor } from './second-factor.ts';
import { AppError } from '../errors/app-error.ts';
import type { Principal } from './principal.ts';
import type { ChallengeRepository } from '../store/challenge-repository.ts';

export interface SudoGuard {
  /** For changes that add a way in or weaken sign-in: a browser session in sudo mode, nothing else. */
  require(principal: Principal, action: string): Promise<void>;
  /** For removals and CLI tokens: sudo mode in a browser session; other credentials are their own proof. */
  requireOfSessions(principal: Principal, action: string): Promise<void>;
}

export class SessionSudo implements SudoGuard {
  readonly #challenges: ChallengeRepository;
  readonly #hasMfa: (accountId: string) => Promise<boolean>;
  readonly #windowSeconds: number;
  readonly #now: () => number;

  constructor(deps: {
    challenges: ChallengeRepository;
    hasMfa: (accountId: string) => Promise<boolean>;
    windowSeconds: number;
    now: () => number;
  }) {
    this.#challenges = deps.challenges;
    this.#hasMfa = deps.hasMfa;
    this.#windowSeconds = deps.windowSeconds;
    this.#now = deps.now;
  }

  /** Records that the session's user just re-verified (with a second factor, or a password). */
  async verified(sessionUid: string, method: 'mfa' | 'password'): Promise<void> {
    await this.#challenges.put(
      `sudo:${sessionUid}`,
      `${method}:${this.#now()}`,
      this.#windowSeconds,
    );
  }

  async require(principal: Principal, action: string): Promise<void> {
    if (principal.via !== 'session' || !principal.sessionUid) {
      throw new AppError(
        'sudo_required',
        `API keys and tokens cannot ${action}: do it on Keyward's account pages, signed in with a browser, where you confirm it's you.`,
        {
          params: { verifyUrl: '/account/verify', method: 'browser' },
        },
      );
    }
    return this.requireOfSessions(principal, action);
  }

  async requireOfSessions(principal: Principal, action: string): Promise<void> {
    if (principal.via !== 'session' || !principal.sessionUid) return;
    const mfa = await this.#hasMfa(principal.account.id);
    const cutoff = this.#now() - this.#windowSeconds * 1000;
    const signInCounts = !mfa || usedSecondFactor(principal.amr);
    if (signInCounts && (principal.authTime ?? 0) * 1000 >= cutoff) return;
    const [method, at] = (
      (await this.#challenges.peek(`sudo:${principal.sessionUid}`)) ?? ':0'
    ).split(':');
    if ((!mfa || method === 'mfa') && Number(at) >= cutoff) return;
    throw new AppError(
      'sudo_required',
      `Confirm it's you before you ${action}: verify with ${mfa ? 'your second factor' : 'your password'}.`,
      {
        params: { verifyUrl: '/account/verify', method: mfa ? 'mfa' : 'password' },
      },
    );
  }
}
