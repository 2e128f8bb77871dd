/**
 * Keyward's SSH user certificate authority keys. The first key (Ed25519 unless configured
 * otherwise) is generated on first start; private keys are kept sealed with the envelope
 * (aad `ssh-ca-key:<id>`) and opened only to sign. Rotation without a flag day:
 *   1. `rotate`   — a new key is published (in ca.pub) but does not sign yet; servers fetch it;
 *   2. `activate` — the new key signs; the old one stays published, so its certificates still work;
 *   3. `retire`   — once the old certificates have expired, the old key leaves ca.pub.
 */
import { AppError } from '../../platform/errors/app-error.ts';
import type { Envelope } from '../../platform/crypto/envelope.ts';
import type { LoadedKey } from '../../platform/ssh/ssh-signer.ts';
import {
  caFingerprint,
  generateCaKey,
  loadCaKey,
  publicKeyLine,
  type CaAlgorithm,
} from './ssh-ca-key.ts';
import type { CaKeyState, SshCaKey, SshCaRepository } from './ssh-ca-repository.ts';
import type { AuditService } from '../../platform/directory/audit-service.ts';
import type { Logger } from '../../platform/logging/logger.ts';

export interface CaKeyView {
  id: string;
  type: string;
  fingerprint: string;
  state: CaKeyState;
  /** The OpenSSH public key line (TrustedUserCAKeys format). */
  publicKey: string;
  createdAt: Date;
  activatedAt?: Date;
  retiredAt?: Date;
}

export interface SshCaDeps {
  repo: SshCaRepository;
  envelope: Envelope;
  audit: AuditService;
  logger: Logger;
  /** Algorithm of the key generated on first start (and of `rotate` without one). */
  algorithm: CaAlgorithm;
}

export interface ActiveCa {
  key: SshCaKey;
  signer: LoadedKey;
}

const aad = (id: string) => `ssh-ca-key:${id}`;

export function presentCaKey(k: SshCaKey): CaKeyView {
  return {
    id: k.id,
    type: k.type,
    fingerprint: k.fingerprint,
    state: k.state,
    createdAt: k.createdAt,
    publicKey: publicKeyLine(
      k.type,
      Buffer.from(k.publicBlob, 'base64'),
      `keyward-user-ca:${k.id}`,
    ),
    ...(k.activatedAt ? { activatedAt: k.activatedAt } : {}),
    ...(k.retiredAt ? { retiredAt: k.retiredAt } : {}),
  };
}

export class SshCaService {
  readonly #d: SshCaDeps;
  /** Opened private keys by CA key id (key material never changes for an id). */
  readonly #signers = new Map<string, LoadedKey>();

  constructor(deps: SshCaDeps) {
    this.#d = deps;
  }

  /** Creates the first CA key (active) when there is none; safe when several instances start at once. */
  async ensureKey(): Promise<void> {
    if ((await this.#d.repo.list()).length > 0) return;
    try {
      await this.#create(1, 'active', this.#d.algorithm);
    } catch (err) {
      if (!(err instanceof AppError && err.code === 'conflict')) throw err; // another instance made it
    }
  }

  async list(): Promise<CaKeyView[]> {
    return (await this.#d.repo.list()).map(presentCaKey);
  }

  /** The keys servers must trust: the active key and every published one. */
  async trusted(): Promise<SshCaKey[]> {
    return (await this.#d.repo.list()).filter((k) => k.state !== 'retired');
  }

  /** Every CA key, retired ones included (the KRL names the CA of each revoked serial). */
  all(): Promise<SshCaKey[]> {
    return this.#d.repo.list();
  }

  /** The signing key: the most recently activated active key. */
  async active(): Promise<ActiveCa> {
    const active = (await this.#d.repo.list())
      .filter((k) => k.state === 'active')
      .sort((a, b) => (b.activatedAt?.getTime() ?? 0) - (a.activatedAt?.getTime() ?? 0))[0];
    if (!active)
      throw new AppError(
        'unavailable',
        'The SSH certificate authority has no active key. An operator must activate one (scripts/ssh-ca.ts activate <id>).',
      );
    return { key: active, signer: await this.#signer(active) };
  }

  /** Step 1 of a rotation: a new key, published but not signing. */
  async rotate(algorithm: CaAlgorithm = this.#d.algorithm): Promise<CaKeyView> {
    const keys = await this.#d.repo.list();
    const seq = keys.reduce((max, k) => Math.max(max, Number(k.id.slice(3)) || 0), 0) + 1;
    return presentCaKey(await this.#create(seq, 'published', algorithm));
  }

  /** Step 2: the published key `id` signs from now on; the previous active key stays published. */
  async activate(id: string): Promise<CaKeyView> {
    const key = await this.#require(id);
    if (key.state === 'retired')
      throw new AppError(
        'conflict',
        `CA key ${id} is retired; servers no longer trust it. Rotate to create a new key.`,
      );
    if (key.state === 'published') {
      await this.#signer(key); // refuse to activate a key that does not open
      await this.#d.repo.transition(id, ['published'], 'active');
      await this.#record('ssh_ca.key_activated', key);
    }
    await this.#d.repo.demoteOthers(id);
    return presentCaKey(await this.#require(id));
  }

  /** Step 3: `id` leaves ca.pub; certificates it signed stop working on servers that refetch it. */
  async retire(id: string): Promise<CaKeyView> {
    const key = await this.#require(id);
    if (key.state === 'active')
      throw new AppError(
        'conflict',
        `CA key ${id} is the active signing key. Activate another key first.`,
      );
    if (key.state === 'published' && (await this.#d.repo.transition(id, ['published'], 'retired')))
      await this.#record('ssh_ca.key_retired', key);
    this.#signers.delete(id);
    return presentCaKey(await this.#require(id));
  }

  async #require(id: string): Promise<SshCaKey> {
    const key = await this.#d.repo.findById(id);
    if (!key)
      throw new AppError('not_found', `No CA key "${id}". List them with scripts/ssh-ca.ts list.`);
    return key;
  }

  async #create(seq: number, state: CaKeyState, algorithm: CaAlgorithm): Promise<SshCaKey> {
    const generated = generateCaKey(algorithm);
    const key = await this.#d.repo.insert(seq, {
      type: generated.type,
      publicBlob: generated.publicBlob.toString('base64'),
      fingerprint: caFingerprint(generated.publicBlob),
      state,
      seal: (id) => this.#d.envelope.seal(generated.privatePem, aad(id)),
    });
    this.#d.logger.info(
      {
        event: 'ssh_ca.key_created',
        caKeyId: key.id,
        type: key.type,
        fingerprint: key.fingerprint,
        state,
      },
      'SSH CA key created',
    );
    await this.#record('ssh_ca.key_created', key);
    return key;
  }

  async #signer(key: SshCaKey): Promise<LoadedKey> {
    const cached = this.#signers.get(key.id);
    if (cached) return cached;
    const loaded = loadCaKey(this.#d.envelope.open(key.sealed, aad(key.id)).toString('utf8'));
    if (!loaded.publicBlob.equals(Buffer.from(key.publicBlob, 'base64')))
      throw new Error(`CA key ${key.id}: the sealed private key does not match its public key`);
    if (this.#d.envelope.needsRewrap(key.sealed))
      await this.#d.repo.replaceSealed(key.id, this.#d.envelope.rewrap(key.sealed));
    this.#signers.set(key.id, loaded);
    return loaded;
  }

  async #record(type: string, key: SshCaKey): Promise<void> {
    await this.#d.audit.record({
      type,
      details: { caKeyId: key.id, caKeyType: key.type, caFingerprint: key.fingerprint },
    });
  }
}
