/**
 * Finds every sealed envelope stored anywhere in the database — server secrets, SSH private
 * keys, TOTP seeds, whatever a feature keeps — by its shape ({v:1, kek, wk, iv, ct, tag}), and
 * re-wraps the ones whose data key is wrapped under an older key-encryption key. Only the wrapped
 * data key changes; the ciphertext and its associated data do not. Each update is conditional on
 * the wrapped key still being the one read, so it is safe while Keyward is running.
 */
import type { Connection } from 'mongoose';
import type { Sealed } from './envelope.ts';

export interface Rewrapper {
  readonly activeVersion: string;
  needsRewrap(s: Sealed): boolean;
  rewrap(s: Sealed): Sealed;
}

export interface CollectionReport {
  collection: string;
  /** Sealed secrets found. */
  sealed: number;
  /** Already under the active version. */
  current: number;
  rewrapped: number;
  /** Changed or deleted between read and write (run again). */
  raced: number;
  /** Could not be unwrapped (their KEK version is not configured). */
  failed: number;
  /** KEK versions still in use after this pass, with counts. */
  versions: Record<string, number>;
}

export function isSealed(v: unknown): v is Sealed {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return false;
  const s = v as Record<string, unknown>;
  return s.v === 1 && ['kek', 'wk', 'iv', 'ct', 'tag'].every((k) => typeof s[k] === 'string');
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  !!v &&
  typeof v === 'object' &&
  (Object.getPrototypeOf(v) === Object.prototype || Object.getPrototypeOf(v) === null);

/** [dotted path, sealed] for every envelope in a document (plain objects and arrays only). */
export function* sealedIn(value: unknown, path = ''): Generator<[string, Sealed]> {
  if (isSealed(value)) {
    yield [path, value];
    return;
  }
  const entries = Array.isArray(value)
    ? value.map((v, i) => [String(i), v] as const)
    : isPlainObject(value)
      ? Object.entries(value)
      : [];
  for (const [k, v] of entries) {
    if (!path && k === '_id') continue;
    yield* sealedIn(v, path ? `${path}.${k}` : k);
  }
}

export async function rewrapSealedSecrets(
  conn: Connection,
  envelope: Rewrapper,
  opts: { dryRun?: boolean } = {},
): Promise<CollectionReport[]> {
  const db = conn.db;
  if (!db) throw new Error('not connected');
  const names = (await db.listCollections({}, { nameOnly: true }).toArray())
    .map((c) => c.name)
    .filter((n) => !n.startsWith('system.'))
    .sort();
  const reports: CollectionReport[] = [];
  for (const name of names) {
    const report: CollectionReport = {
      collection: name,
      sealed: 0,
      current: 0,
      rewrapped: 0,
      raced: 0,
      failed: 0,
      versions: {},
    };
    const collection = db.collection(name);
    for await (const doc of collection.find({}, { batchSize: 500 })) {
      for (const [path, sealed] of sealedIn(doc)) {
        report.sealed++;
        let version = sealed.kek;
        if (!envelope.needsRewrap(sealed)) {
          report.current++;
        } else {
          let next: Sealed | undefined;
          try {
            next = envelope.rewrap(sealed);
          } catch {
            report.failed++;
          }
          if (next && opts.dryRun) report.rewrapped++;
          else if (next) {
            const res = await collection.updateOne(
              { _id: doc._id, [`${path}.wk`]: sealed.wk, [`${path}.kek`]: sealed.kek },
              { $set: { [path]: next } },
            );
            if (res.modifiedCount === 1) {
              report.rewrapped++;
              version = next.kek;
            } else report.raced++;
          }
        }
        report.versions[version] = (report.versions[version] ?? 0) + 1;
      }
    }
    if (report.sealed) reports.push(report);
  }
  return reports;
}
