/**
 * Sudo mode: sensitive changes (creating or deleting credentials, changing MFA) need a recent
 * verification in this browser session — a second factor when the user has one, otherwise the
 * password — within the configured window. Signing in counts as a verification.
 */
import { AppError } from '../errors/app-error.ts';
import type { Principal } from '../http/auth/principal.ts';
import type { ChallengeRepository } from '../repositories/challenge-repository.ts';

export interface SudoGuard {
  /** Throws AppError('sudo_required') when the caller must re-verify before `action`. */
  require(principal: Principal, action: string): Promise<void>;
}

export const allowAllSudo: SudoGuard = { async require() { /* for scripts and tests that opt out */ } };

const SECOND_FACTORS = ['otp', 'hwk', 'swk'];

export class SessionSudo implements SudoGuard {
  readonly #challenges: ChallengeRepository;
  readonly #hasMfa: (accountId: string) => Promise<boolean>;
  readonly #windowSeconds: number;
  readonly #now: () => number;

  constructor(deps: { challenges: ChallengeRepository; hasMfa: (accountId: string) => Promise<boolean>; windowSeconds: number; now: () => number }) {
    this.#challenges = deps.challenges;
    this.#hasMfa = deps.hasMfa;
    this.#windowSeconds = deps.windowSeconds;
    this.#now = deps.now;
  }

  /** Records that the session's user just re-verified (with a second factor, or a password). */
  async verified(sessionUid: string, method: 'mfa' | 'password'): Promise<void> {
    await this.#challenges.put(`sudo:${sessionUid}`, `${method}:${this.#now()}`, this.#windowSeconds);
  }

  async require(principal: Principal, action: string): Promise<void> {
    // Credentials other than the browser session are themselves the proof (and session-only routes refuse them).
    if (principal.via !== 'session' || !principal.sessionUid) return;
    const mfa = await this.#hasMfa(principal.account.id);
    const cutoff = this.#now() - this.#windowSeconds * 1000;
    const signInCounts = !mfa || principal.amr.some((m) => SECOND_FACTORS.includes(m));
    if (signInCounts && (principal.authTime ?? 0) * 1000 >= cutoff) return;
    const [method, at] = (await this.#challenges.peek(`sudo:${principal.sessionUid}`) ?? ':0').split(':');
    if ((!mfa || method === 'mfa') && Number(at) >= cutoff) return;
    throw new AppError('sudo_required', `Confirm it's you before you ${action}: verify with ${mfa ? 'your second factor' : 'your password'}.`, {
      params: { verifyUrl: '/account/verify', method: mfa ? 'mfa' : 'password' },
    });
  }
}
