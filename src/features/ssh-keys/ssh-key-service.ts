/**
 * SSH public keys for cluster login: add (validated, normalised, unique across all accounts), list,
 * delete, and the authorized_keys answer for sshd's AuthorizedKeysCommand.
 */
import { AppError } from '../../platform/errors/app-error.ts';
import type { Account } from '../../platform/directory/account-repository.ts';
import type { SshPublicKey, SshPublicKeyRepository } from './ssh-public-key-repository.ts';
import type { AccountService } from '../../platform/directory/account-service.ts';
import type { AuditService, RequestInfo } from '../../platform/directory/audit-service.ts';
import { authorizedKeyLine, parsePublicKey } from '../../platform/ssh/ssh-key-parser.ts';

const TITLE_MAX = 100;
/** Last-used is written at most this often per key, so sshd lookups stay reads. */
const TOUCH_INTERVAL_MS = 60_000;
const SANE_USERNAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

export interface NewPublicKeyInput {
  title?: string;
  key: string;
  expiresAt?: Date;
}

export class SshKeyService {
  readonly #repo: SshPublicKeyRepository;
  readonly #accounts: AccountService;
  readonly #audit: AuditService;
  readonly #now: () => number;

  constructor(deps: {
    repo: SshPublicKeyRepository;
    accounts: AccountService;
    audit: AuditService;
    now: () => number;
  }) {
    this.#repo = deps.repo;
    this.#accounts = deps.accounts;
    this.#audit = deps.audit;
    this.#now = deps.now;
  }

  list(account: Account): Promise<SshPublicKey[]> {
    return this.#repo.listByOwner(account.id);
  }

  async add(
    account: Account,
    input: NewPublicKeyInput,
    request: RequestInfo,
  ): Promise<SshPublicKey> {
    const parsed = parsePublicKey(input.key);
    const title = (input.title ?? '').trim() || parsed.comment || `${parsed.type} key`;
    if (title.length > TITLE_MAX)
      throw new AppError(
        'validation_failed',
        `The key name is too long (at most ${TITLE_MAX} characters).`,
      );
    if (input.expiresAt && input.expiresAt.getTime() <= this.#now())
      throw new AppError('validation_failed', 'The expiry date must be in the future.');
    const key = await this.#repo.create({
      ownerId: account.id,
      username: account.username,
      title: title.slice(0, TITLE_MAX),
      type: parsed.type,
      blob: parsed.blob.toString('base64'),
      comment: parsed.comment,
      bits: parsed.bits,
      fingerprint: parsed.fingerprint,
      expiresAt: input.expiresAt,
    });
    await this.#audit.record({
      type: 'ssh-key.created',
      accountId: account.id,
      request,
      details: { title: key.title, type: key.type, fingerprint: key.fingerprint },
    });
    return key;
  }

  async remove(account: Account, id: string, request: RequestInfo): Promise<void> {
    const key = await this.#repo.findOwned(account.id, id);
    if (!key || !(await this.#repo.deleteOwned(account.id, id)))
      throw new AppError('not_found', 'No such SSH key.');
    await this.#audit.record({
      type: 'ssh-key.deleted',
      accountId: account.id,
      request,
      details: { title: key.title, fingerprint: key.fingerprint },
    });
  }

  isExpired(key: SshPublicKey): boolean {
    return !!key.expiresAt && key.expiresAt.getTime() <= this.#now();
  }

  /**
   * authorized_keys lines for `username`: its valid, unexpired keys, and nothing at all for an
   * unknown or disabled user (the same empty answer, so existence is not revealed). The keys
   * (indexed by username) and the owner (unique username index) are read in parallel: one
   * database round trip.
   */
  async authorizedKeys(username: string, offeredFingerprint?: string): Promise<string> {
    if (!SANE_USERNAME.test(username)) return '';
    const [keys, owner] = await Promise.all([
      this.#repo.listByUsername(username),
      this.#accounts.findByLogin(username),
    ]);
    if (keys.length === 0 || !owner || owner.disabled) return '';
    const valid = keys
      .filter((k) => k.ownerId === owner.id && !this.isExpired(k))
      .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime());
    const offered = offeredFingerprint
      ? valid.find((k) => k.fingerprint === offeredFingerprint)
      : undefined;
    if (offered) await this.#repo.touch(offered.id, TOUCH_INTERVAL_MS);
    return valid.map((k) => `${authorizedKeyLine(k.type, k.blob, k.comment)}\n`).join('');
  }
}
