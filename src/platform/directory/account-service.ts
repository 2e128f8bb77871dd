import { randomBytes } from 'node:crypto';
import { createHash } from 'node:crypto';
import { AppError } from '../errors/app-error.ts';
import type { PasswordHasher } from '../crypto/password-hasher.ts';
import type { Account, AccountProfile, AccountRepository } from './account-repository.ts';
import type { PasswordPolicy } from './password-policy.ts';
import type { ThrottleRule, ThrottleService } from '../throttle/throttle-service.ts';

export interface NewUser {
  username: string;
  email: string;
  displayName?: string;
  password: string;
  platformAdmin?: boolean;
}

const USERNAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** Who is signing in from where: the IP, and the browser's device cookie if it has a valid one. */
export interface SignInClient {
  ip: string;
  device?: { accountId: string; deviceId: string };
}

export const INVALID_CREDENTIALS = 'Invalid username or password.';

export class AccountService {
  readonly #repo: AccountRepository;
  readonly #hasher: PasswordHasher;
  readonly #policy: PasswordPolicy;
  readonly #throttle: ThrottleService;
  readonly #rules: { account: ThrottleRule; ip: ThrottleRule };
  readonly #dummyHash: string;
  readonly #revocations: { announce(): Promise<void> };

  constructor(deps: {
    repo: AccountRepository;
    hasher: PasswordHasher;
    policy: PasswordPolicy;
    throttle: ThrottleService;
    rules: { account: ThrottleRule; ip: ThrottleRule };
    dummyHash: string;
    /** Told when an account is disabled, so cached credential verifications are dropped everywhere. */
    revocations: { announce(): Promise<void> };
  }) {
    this.#repo = deps.repo;
    this.#hasher = deps.hasher;
    this.#policy = deps.policy;
    this.#throttle = deps.throttle;
    this.#rules = deps.rules;
    this.#dummyHash = deps.dummyHash;
    this.#revocations = deps.revocations;
  }

  async register(input: NewUser): Promise<Account> {
    if (!USERNAME.test(input.username)) {
      throw new AppError(
        'validation_failed',
        'Username must be 1–63 letters, digits, dots, dashes or underscores, starting with a letter or digit.',
      );
    }
    if (!EMAIL.test(input.email))
      throw new AppError('validation_failed', 'Email must be a valid email address.');
    this.#policy.check(input.password, input);
    return this.#repo.create({
      username: input.username,
      email: input.email,
      displayName: input.displayName?.trim() || input.username,
      passwordHash: await this.#hasher.hash(input.password),
      platformAdmin: input.platformAdmin,
    });
  }

  /**
   * Verifies a password sign-in. Unknown users and wrong passwords get the same answer after the
   * same work (a hash is always verified). The attempt is reserved before the hash is checked
   * (throttle-service.ts), so simultaneous guesses are all counted:
   * - from a browser that signed in to this account before (`client.device`, a signed device
   *   cookie), per that device only, so failures made elsewhere never lock its owner out;
   * - from any other client, per account (for all unknown clients together) and per IP.
   */
  async authenticate(login: string, password: string, client: SignInClient): Promise<Account> {
    const account = await this.#repo.findByLogin(login);
    const subject = account
      ? account.id
      : `unknown:${createHash('sha256').update(login.trim().toLowerCase()).digest('hex')}`;
    const known =
      account && client.device?.accountId === account.id ? client.device.deviceId : undefined;
    const subjects = known
      ? [
          {
            key: `login:device:${subject}:${known}`,
            rule: this.#rules.account,
            resetOnSuccess: true,
          },
        ]
      : [
          { key: `login:acct:${subject}`, rule: this.#rules.account, resetOnSuccess: true },
          { key: `login:ip:${client.ip}`, rule: this.#rules.ip },
        ];
    const { wait, result } = await this.#throttle.attempt(subjects, async () => {
      const ok = await this.#hasher.verify(password, account?.passwordHash ?? this.#dummyHash);
      return ok && account ? account : undefined;
    });
    if (wait > 0) {
      throw new AppError(
        'rate_limited',
        `Too many failed sign-in attempts. Try again in ${formatWait(wait)}.`,
        { headers: { 'Retry-After': String(wait) }, params: { retryAfter: wait } },
      );
    }
    if (!result) throw new AppError('unauthenticated', INVALID_CREDENTIALS);
    if (result.disabled)
      throw new AppError('forbidden', 'This account is disabled. Contact your administrator.');
    if (this.#hasher.needsRehash(result.passwordHash)) {
      await this.#repo.setPasswordHash(result.id, await this.#hasher.hash(password));
    }
    return result;
  }

  async findById(id: string): Promise<Account | undefined> {
    return this.#repo.findById(id);
  }

  async findByLogin(login: string): Promise<Account | undefined> {
    return this.#repo.findByLogin(login);
  }

  async requireByLogin(login: string): Promise<Account> {
    const account = await this.#repo.findByLogin(login);
    if (!account) throw new AppError('not_found', `No user "${login}".`);
    return account;
  }

  async setPassword(login: string, password: string): Promise<void> {
    const account = await this.requireByLogin(login);
    this.#policy.check(password, account);
    await this.#repo.setPasswordHash(account.id, await this.#hasher.hash(password));
  }

  /** Replaces the person's name and standard profile claims (validated at the edge, see account-routes.ts). */
  /** The hash of a fresh random secret: a password no one knows (passwordless accounts). */
  async unusablePasswordHash(): Promise<string> {
    return this.#hasher.hash(randomBytes(32).toString('base64url'));
  }

  /** Writes an already computed password hash (false: no such account). */
  async setPasswordHash(accountId: string, passwordHash: string): Promise<boolean> {
    return this.#repo.setPasswordHash(accountId, passwordHash);
  }

  async setProfile(accountId: string, profile: AccountProfile): Promise<Account> {
    if (!(await this.#repo.setProfile(accountId, profile)))
      throw new AppError('not_found', 'This account no longer exists.');
    const account = await this.#repo.findById(accountId);
    if (!account) throw new AppError('not_found', 'This account no longer exists.');
    return account;
  }

  async setDisabled(login: string, disabled: boolean): Promise<void> {
    const account = await this.requireByLogin(login);
    await this.#repo.setDisabled(account.id, disabled);
    if (disabled) await this.#revocations.announce();
  }

  list(limit = 100, skip = 0): Promise<Account[]> {
    return this.#repo.list(limit, skip);
  }

  count(): Promise<number> {
    return this.#repo.count();
  }
}

function formatWait(seconds: number): string {
  if (seconds < 120) return `${seconds} second${seconds === 1 ? '' : 's'}`;
  return `${Math.ceil(seconds / 60)} minutes`;
}
