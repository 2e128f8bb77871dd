/**
 * Server secrets created on first start and persisted so restarts keep sessions and tokens valid:
 * the OIDC signing keys (JWKS) and, unless configured, the cookie keys — both sealed with the
 * envelope. Without a configured KEYWARD_ENCRYPTION_KEY (development only; production refuses
 * to start) a development key-encryption key is generated and stored beside the data.
 */
import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { Envelope, type KeyEncryptionKey, type Sealed } from './envelope.ts';
import type { Logger } from '../logging/logger.ts';
import type { SecretRepository } from './secret-repository.ts';

export interface ServerKeys {
  envelope: Envelope;
  cookieKeys: string[];
  jwks: { keys: Record<string, unknown>[] };
  /** Server pepper for digests of low-entropy secrets (recovery codes). */
  pepper: Buffer;
}

async function loadKeks(
  configured: KeyEncryptionKey[] | undefined,
  secrets: SecretRepository,
  logger: Logger,
): Promise<KeyEncryptionKey[]> {
  if (configured) return configured;
  const stored = await secrets.putIfAbsent('dev-kek', {
    version: 'dev',
    key: randomBytes(32).toString('base64'),
  });
  logger.warn(
    { event: 'keys.dev_kek' },
    'KEYWARD_ENCRYPTION_KEY is not set: using a development key-encryption key stored in the database (never do this in production)',
  );
  return [{ version: String(stored.version), key: Buffer.from(String(stored.key), 'base64') }];
}

async function sealedSecret<T>(
  name: string,
  secrets: SecretRepository,
  envelope: Envelope,
  create: () => T,
): Promise<T> {
  const aad = `server-secret:${name}`;
  const stored = await secrets.putIfAbsent(
    name,
    envelope.seal(JSON.stringify(create()), aad) as unknown as Record<string, unknown>,
  );
  const sealed = stored as unknown as Sealed;
  if (envelope.needsRewrap(sealed))
    await secrets.replace(name, envelope.rewrap(sealed) as unknown as Record<string, unknown>);
  return JSON.parse(envelope.open(sealed, aad).toString('utf8')) as T;
}

function newSigningKeys(): { keys: Record<string, unknown>[] } {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({
    format: 'jwk',
  });
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({
    format: 'jwk',
  });
  return {
    keys: [
      { ...rsa, kid: `rs-${randomUUID()}`, alg: 'RS256', use: 'sig' },
      { ...ec, kid: `es-${randomUUID()}`, alg: 'ES256', use: 'sig' },
    ],
  };
}

export async function loadServerKeys(opts: {
  encryptionKeys?: KeyEncryptionKey[];
  cookieKeys?: string[];
  secrets: SecretRepository;
  logger: Logger;
}): Promise<ServerKeys> {
  const envelope = new Envelope(await loadKeks(opts.encryptionKeys, opts.secrets, opts.logger));
  const jwks = await sealedSecret('jwks', opts.secrets, envelope, newSigningKeys);
  const cookieKeys =
    opts.cookieKeys ??
    (await sealedSecret('cookie-keys', opts.secrets, envelope, () => [
      randomBytes(32).toString('base64url'),
    ]));
  const pepper = Buffer.from(
    await sealedSecret('pepper', opts.secrets, envelope, () => randomBytes(32).toString('base64')),
    'base64',
  );
  return { envelope, cookieKeys, jwks, pepper };
}
