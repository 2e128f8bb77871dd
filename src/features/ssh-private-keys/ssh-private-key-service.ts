/**
 * SSH private keys the platform uses on a user's behalf. The key is decrypted once on import (when
 * it has a passphrase), checked to sign and verify against its public half, then sealed with the
 * envelope under AAD `ssh-private-key:<ownerId>:<keyId>`. Users and the user-facing API never read
 * it back; a confidential platform client with a dedicated scope can ask Keyward to sign with it
 * (preferred: the key never leaves) or retrieve it. Every use is audited for the owner to see.
 */
import { createHash, randomBytes } from 'node:crypto';
import { AppError } from '../../platform/errors/app-error.ts';
import { DecryptionError, type Envelope } from '../../platform/crypto/envelope.ts';
import {
  agentSign,
  agentVerify,
  loadSigningKey,
  sshsigSign,
  type RsaHash,
} from '../../platform/ssh/ssh-signer.ts';
import type { Account } from '../../platform/directory/account-repository.ts';
import type { AuditEvent, AuditRepository } from '../../platform/directory/audit-repository.ts';
import {
  newSshPrivateKeyId,
  type SshPrivateKey,
  type SshPrivateKeyRepository,
} from './ssh-private-key-repository.ts';
import type { Logger } from '../../platform/logging/logger.ts';
import type { AccountService } from '../../platform/directory/account-service.ts';
import type { AuditService, RequestInfo } from '../../platform/directory/audit-service.ts';
import { parsePublicKey } from '../../platform/ssh/ssh-key-parser.ts';
import type { PrivateKeyReader } from './ssh-private-key-reader.ts';

export const KEY_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
export const KEY_NAME_RULE =
  'Name must be 1–64 letters, digits, dots, dashes or underscores, starting with a letter or digit.';
const DESCRIPTION_MAX = 500;
export const USE_EVENTS = [
  'ssh-private-key.signed',
  'ssh-private-key.retrieved',
  'ssh-private-key.use-refused',
];

export const sealAad = (ownerId: string, keyId: string) => `ssh-private-key:${ownerId}:${keyId}`;

export interface NewPrivateKeyInput {
  name: string;
  description?: string;
  privateKey: string;
  passphrase?: string;
}
export interface SignRequest {
  data: Buffer;
  format: 'ssh' | 'sshsig';
  namespace?: string;
  rsaHash?: RsaHash;
}
export interface PlatformCaller {
  clientId: string;
  request: RequestInfo;
}

export class SshPrivateKeyService {
  readonly #repo: SshPrivateKeyRepository;
  readonly #envelope: Envelope;
  readonly #accounts: AccountService;
  readonly #audit: AuditService;
  readonly #auditRepo: AuditRepository;
  readonly #reader: PrivateKeyReader;
  readonly #logger: Logger;

  constructor(deps: {
    repo: SshPrivateKeyRepository;
    envelope: Envelope;
    accounts: AccountService;
    audit: AuditService;
    auditRepo: AuditRepository;
    reader: PrivateKeyReader;
    logger: Logger;
  }) {
    this.#repo = deps.repo;
    this.#envelope = deps.envelope;
    this.#accounts = deps.accounts;
    this.#audit = deps.audit;
    this.#auditRepo = deps.auditRepo;
    this.#reader = deps.reader;
    this.#logger = deps.logger;
  }

  list(owner: Account): Promise<SshPrivateKey[]> {
    return this.#repo.listByOwner(owner.id);
  }

  /** Adds a key for `owner`; `actor` is who asked (the owner, or an organization admin). */
  async create(
    owner: Account,
    input: NewPrivateKeyInput,
    actor: Account,
    request: RequestInfo,
  ): Promise<SshPrivateKey> {
    const name = (input.name ?? '').trim();
    if (!KEY_NAME.test(name))
      throw new AppError('validation_failed', KEY_NAME_RULE, {
        fieldErrors: [
          { type: 'validation', code: 'invalid_name', detail: KEY_NAME_RULE, pointer: '#/name' },
        ],
      });
    const description = (input.description ?? '').trim();
    if (description.length > DESCRIPTION_MAX)
      throw new AppError(
        'validation_failed',
        `Description must be at most ${DESCRIPTION_MAX} characters.`,
      );
    if (await this.#repo.findByName(owner.id, name))
      throw new AppError(
        'conflict',
        `You already have an SSH private key named "${name}". Choose another name.`,
      );
    const decoded = await this.#reader.read(input.privateKey ?? '', input.passphrase || undefined);
    const pub = parsePublicKey(decoded.publicKey);
    const signer = loadSigningKey(decoded.openssh);
    const probe = randomBytes(32);
    if (
      !signer.publicBlob.equals(pub.blob) ||
      !agentVerify(pub.blob, probe, agentSign(signer, probe).blob)
    ) {
      throw new AppError(
        'validation_failed',
        'This private key is damaged: it does not produce signatures that its own public key verifies.',
      );
    }
    const id = newSshPrivateKeyId();
    const key = await this.#repo.create({
      id,
      ownerId: owner.id,
      name,
      description,
      keyType: pub.type,
      bits: pub.bits,
      fingerprint: pub.fingerprint,
      publicKey: `${pub.type} ${pub.blob.toString('base64')}`,
      sealed: this.#envelope.seal(decoded.openssh, sealAad(owner.id, id)),
      createdBy: actor.id === owner.id ? undefined : actor.id,
    });
    await this.#audit.record({
      type: 'ssh-private-key.created',
      accountId: owner.id,
      actorId: actor.id === owner.id ? undefined : actor.id,
      request,
      details: { name, type: key.keyType, fingerprint: key.fingerprint },
    });
    return key;
  }

  async remove(owner: Account, name: string, request: RequestInfo): Promise<void> {
    const key = await this.#repo.deleteByName(owner.id, name);
    if (!key) throw new AppError('not_found', `No SSH private key named "${name}".`);
    await this.#audit.record({
      type: 'ssh-private-key.deleted',
      accountId: owner.id,
      request,
      details: { name: key.name, fingerprint: key.fingerprint },
    });
  }

  /** The audited uses of the owner's keys (signatures, retrievals, refused attempts), newest first. */
  uses(owner: Account, limit = 50): Promise<AuditEvent[]> {
    return this.#auditRepo.list({ accountId: owner.id, types: USE_EVENTS }, Math.min(limit, 200));
  }

  /** Signs `data` with the user's key for a platform client; the key never leaves Keyward. */
  async sign(
    caller: PlatformCaller,
    username: string,
    name: string,
    req: SignRequest,
  ): Promise<{ key: SshPrivateKey; algorithm: string; signature: string }> {
    const { key, openssh } = await this.#open(caller, username, name, 'sign');
    const signer = loadSigningKey(openssh);
    let algorithm: string;
    let signature: string;
    if (req.format === 'sshsig') {
      signature = sshsigSign(signer, req.data, req.namespace!);
      algorithm = signer.type === 'ssh-rsa' ? 'rsa-sha2-512' : signer.type;
    } else {
      const s = agentSign(signer, req.data, req.rsaHash);
      algorithm = s.algorithm;
      signature = s.blob.toString('base64');
    }
    await this.#repo.touch(key.id);
    await this.#audit.record({
      type: 'ssh-private-key.signed',
      accountId: key.ownerId,
      actorId: `client:${caller.clientId}`,
      request: caller.request,
      details: {
        name: key.name,
        fingerprint: key.fingerprint,
        client: caller.clientId,
        format: req.format,
        algorithm,
        bytes: req.data.length,
        dataSha256: createHash('sha256').update(req.data).digest('hex'),
        ...(req.namespace ? { namespace: req.namespace } : {}),
      },
    });
    return { key, algorithm, signature };
  }

  /** Hands the decrypted key to a platform client (prefer `sign`). */
  async retrieve(
    caller: PlatformCaller,
    username: string,
    name: string,
  ): Promise<{ key: SshPrivateKey; privateKey: string }> {
    const { key, openssh } = await this.#open(caller, username, name, 'retrieve');
    await this.#repo.touch(key.id);
    await this.#audit.record({
      type: 'ssh-private-key.retrieved',
      accountId: key.ownerId,
      actorId: `client:${caller.clientId}`,
      request: caller.request,
      details: { name: key.name, fingerprint: key.fingerprint, client: caller.clientId },
    });
    return { key, privateKey: openssh };
  }

  async #open(
    caller: PlatformCaller,
    username: string,
    name: string,
    action: string,
  ): Promise<{ key: SshPrivateKey; openssh: string }> {
    const owner = username.includes('@') ? undefined : await this.#accounts.findByLogin(username);
    const key = owner && !owner.disabled ? await this.#repo.findByName(owner.id, name) : undefined;
    if (!owner || !key) {
      if (owner)
        await this.#refused(
          owner.id,
          caller,
          name,
          action,
          owner.disabled ? 'user_disabled' : 'no_such_key',
        );
      throw new AppError('not_found', `No SSH private key "${name}" for user "${username}".`);
    }
    try {
      return {
        key,
        openssh: this.#envelope.open(key.sealed, sealAad(key.ownerId, key.id)).toString('utf8'),
      };
    } catch (err) {
      if (!(err instanceof DecryptionError)) throw err;
      this.#logger.error(
        { event: 'ssh-private-key.decrypt_failed', keyId: key.id, error: err.message },
        'a stored SSH private key does not decrypt',
      );
      await this.#refused(owner.id, caller, name, action, 'decrypt_failed');
      throw new AppError(
        'internal',
        'The stored key cannot be decrypted (it was altered, moved, or its key-encryption key is not configured).',
        { cause: err },
      );
    }
  }

  async #refused(
    accountId: string,
    caller: PlatformCaller,
    name: string,
    action: string,
    reason: string,
  ): Promise<void> {
    await this.#audit.record({
      type: 'ssh-private-key.use-refused',
      outcome: 'failure',
      accountId,
      actorId: `client:${caller.clientId}`,
      request: caller.request,
      details: { name, client: caller.clientId, action, reason },
    });
  }
}
