/**
 * Re-wraps every secret Keyward keeps (server secrets, SSH private keys, TOTP seeds, … — any
 * sealed envelope in any collection) under the active key-encryption key, online.
 *
 *   KEYWARD_ENCRYPTION_KEY="v2=<new key>,v1=<old key>" npx node scripts/rotate-encryption-key.ts [--dry-run]
 *
 * Rotation, without downtime:
 *   1. generate a key (`openssl rand -base64 32`) and restart every instance with the new key FIRST
 *      in KEYWARD_ENCRYPTION_KEY and the old ones after it (new secrets use the new key; old ones
 *      still open);
 *   2. run this script with the same KEYWARD_ENCRYPTION_KEY (and MONGODB_URI);
 *   3. when it reports nothing left under old versions, drop the old keys from the configuration.
 * A database still on the generated development key (version "dev") is moved too: the script
 * adds that key from the database when it is not configured.
 * Exit status: 0 when every secret is under the active version, 1 otherwise.
 */
import { parseArgs } from 'node:util';
import { loadScriptConfig } from './script-config.ts';
import { connectDatabase } from '../src/platform/db/connect.ts';
import { startEmbeddedDatabase } from '../src/platform/db/embedded.ts';
import { createLogger } from '../src/platform/logging/logger.ts';
import { Envelope, type KeyEncryptionKey } from '../src/platform/crypto/envelope.ts';
import { SecretRepository } from '../src/platform/crypto/secret-repository.ts';
import {
  rewrapSealedSecrets,
  type CollectionReport,
} from '../src/platform/crypto/sealed-secret-repository.ts';

const { values } = parseArgs({ options: { 'dry-run': { type: 'boolean', default: false } } });
const dryRun = values['dry-run']!;

const config = loadScriptConfig(2);
if (!config.encryptionKeys) {
  console.error(
    'KEYWARD_ENCRYPTION_KEY is not set. Set it to "NEWVERSION=NEWKEY,OLDVERSION=OLDKEY" (the active key first).',
  );
  process.exit(2);
}

const logger = createLogger('warn');
const stops: (() => Promise<void>)[] = [];
let uri = config.mongodbUri;
if (!uri) {
  const embedded = await startEmbeddedDatabase(config.dataDir, logger, {
    ferretdbBin: config.ferretdbBin,
  });
  stops.push(embedded.stop);
  uri = embedded.uri;
}
const connection = await connectDatabase(uri, logger);
stops.unshift(() => connection.close());

let status = 0;
try {
  const keks: KeyEncryptionKey[] = [...config.encryptionKeys];
  const dev = await new SecretRepository(connection).get('dev-kek');
  if (dev && !keks.some((k) => k.version === String(dev.version))) {
    keks.push({ version: String(dev.version), key: Buffer.from(String(dev.key), 'base64') });
    console.log(
      `Including the development key-encryption key (version "${String(dev.version)}") found in the database.`,
    );
  }
  const envelope = new Envelope(keks);
  console.log(
    `${dryRun ? 'Dry run: would re-wrap' : 'Re-wrapping'} sealed secrets under key version "${envelope.activeVersion}" (configured: ${keks.map((k) => k.version).join(', ')}).`,
  );

  let reports: CollectionReport[] = [];
  for (let pass = 1; pass <= 3; pass++) {
    reports = await rewrapSealedSecrets(connection, envelope, { dryRun });
    const raced = reports.reduce((n, r) => n + r.raced, 0);
    if (!raced || dryRun) break;
    console.log(`Pass ${pass}: ${raced} secret(s) changed while being re-wrapped; running again.`);
  }
  for (const r of reports) {
    const versions = Object.entries(r.versions)
      .map(([v, n]) => `${v}:${n}`)
      .join(' ');
    console.log(
      `  ${r.collection.padEnd(28)} sealed ${String(r.sealed).padStart(5)}  re-wrapped ${String(r.rewrapped).padStart(5)}  already current ${String(r.current).padStart(5)}  failed ${r.failed}  raced ${r.raced}  [${versions}]`,
    );
  }
  const left = reports.reduce((n, r) => n + r.sealed - r.current - (dryRun ? 0 : r.rewrapped), 0);
  const failed = reports.reduce((n, r) => n + r.failed, 0);
  if (failed)
    console.error(
      `${failed} secret(s) use a key version that is not configured: add that key to KEYWARD_ENCRYPTION_KEY and run again.`,
    );
  if (left && !dryRun) {
    console.error(
      `${left} secret(s) are still under an older key version. Do not remove the old keys yet.`,
    );
    status = 1;
  } else if (!dryRun) {
    console.log(
      `Done: every sealed secret is under "${envelope.activeVersion}". Older keys can be removed from KEYWARD_ENCRYPTION_KEY once all instances run with the new list.`,
    );
  }
} finally {
  for (const stop of stops) await stop().catch(() => undefined);
}
process.exit(status);
