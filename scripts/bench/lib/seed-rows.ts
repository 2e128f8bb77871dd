/**
 * Grows the stored OIDC rows to a target count fast, for the data-growth workloads. Keyward first
 * makes a few rows itself through its HTTP API (real grants); those are the templates, cloned in
 * bulk with fresh identifiers. The only knowledge of Keyward's storage format is in `OIDC_COLLECTIONS`
 * (which collections hold provider data) and `cloneRow` (what must differ between two rows), so a
 * change of layout (one collection per model, other key fields) needs no change or a small one here.
 */
import { randomBytes } from 'node:crypto';
import { MongoClient, ObjectId, type Db, type Document } from 'mongodb';

/** Collections holding oidc-provider data: `oidc_payloads` today, `oidc_<model>`-like names later. */
export const OIDC_COLLECTIONS = /^oidc/i;
const DAY_MS = 86400000;

const randomLike = (s: string) =>
  randomBytes(Math.ceil(s.length * 0.75) + 1)
    .toString('base64url')
    .slice(0, s.length);

/**
 * A copy of a stored row that is a different row to the store: a new `_id` (the part after the last
 * ':' for `<Model>:<id>` keys), new values for identifier-like top-level strings (grant ids, uids,
 * account ids: random text of the same length), and any future expiry pushed a day later so that a
 * sweep during the run does not remove the seeded rows. The payload itself is copied as it is.
 */
export function cloneRow(doc: Document, now: number): Document {
  const copy: Document = {};
  for (const [key, value] of Object.entries(doc)) {
    if (key === '_id') {
      if (value instanceof ObjectId) copy._id = new ObjectId();
      else if (typeof value === 'string') {
        const i = value.lastIndexOf(':');
        copy._id =
          i >= 0 ? `${value.slice(0, i + 1)}${randomLike(value.slice(i + 1))}` : randomLike(value);
      } else copy._id = new ObjectId();
    } else if (
      typeof value === 'string' &&
      key !== 'model' &&
      /^[A-Za-z0-9_-]{16,128}$/.test(value)
    ) {
      copy[key] = randomLike(value);
    } else if (value instanceof Date && value.getTime() > now) {
      copy[key] = new Date(value.getTime() + DAY_MS);
    } else {
      copy[key] = value;
    }
  }
  return copy;
}

export async function oidcCollections(db: Db): Promise<string[]> {
  return (await db.listCollections({}, { nameOnly: true }).toArray())
    .map((c) => c.name)
    .filter((n) => OIDC_COLLECTIONS.test(n))
    .sort();
}

/** Rows per OIDC collection, and their total. */
export async function countRows(
  db: Db,
): Promise<{ total: number; byCollection: Record<string, number> }> {
  const byCollection: Record<string, number> = {};
  for (const name of await oidcCollections(db))
    byCollection[name] = await db.collection(name).countDocuments();
  return { total: Object.values(byCollection).reduce((a, b) => a + b, 0), byCollection };
}

/**
 * Adds clones of the rows now stored (the templates, up to 1000) until the OIDC collections hold
 * `target` rows in all; each collection grows in proportion to its templates. Answers the counts.
 */
export async function growRows(
  uri: string,
  target: number,
  log: (s: string) => void,
): Promise<{ total: number; byCollection: Record<string, number> }> {
  const client = await MongoClient.connect(uri);
  try {
    const db = client.db();
    const templates: { collection: string; doc: Document }[] = [];
    for (const name of await oidcCollections(db)) {
      for (const doc of await db.collection(name).find({}).limit(1000).toArray())
        templates.push({ collection: name, doc });
    }
    let { total } = await countRows(db);
    if (templates.length === 0)
      throw new Error(
        'no OIDC rows to clone: the sample grants stored nothing in a collection named oidc*',
      );
    const started = performance.now();
    let i = 0;
    while (total < target) {
      const batch = new Map<string, Document[]>();
      for (let n = 0; n < Math.min(1000, target - total); n++, i++) {
        const t = templates[i % templates.length];
        if (!batch.has(t.collection)) batch.set(t.collection, []);
        batch.get(t.collection)!.push(cloneRow(t.doc, Date.now()));
      }
      for (const [name, docs] of batch) {
        await db.collection(name).insertMany(docs, { ordered: false });
        total += docs.length;
      }
    }
    const counts = await countRows(db);
    log(
      `    seeded to ${counts.total} OIDC rows in ${((performance.now() - started) / 1000).toFixed(1)} s (${JSON.stringify(counts.byCollection)})`,
    );
    return counts;
  } finally {
    await client.close();
  }
}

/** Row counts through a short-lived connection. */
export async function countRowsAt(
  uri: string,
): Promise<{ total: number; byCollection: Record<string, number> }> {
  const client = await MongoClient.connect(uri);
  try {
    return await countRows(client.db());
  } finally {
    await client.close();
  }
}

/** The `_id`s now stored in the OIDC collections (to remove later what a measurement added). */
export async function snapshotIds(uri: string): Promise<Map<string, Set<string>>> {
  const client = await MongoClient.connect(uri);
  try {
    const db = client.db();
    const out = new Map<string, Set<string>>();
    for (const name of await oidcCollections(db)) {
      const ids = new Set<string>();
      for await (const d of db.collection(name).find({}, { projection: { _id: 1 } }))
        ids.add(String(d._id));
      out.set(name, ids);
    }
    return out;
  } finally {
    await client.close();
  }
}

/** Deletes the OIDC rows that are not in `snapshot` (the grants a measurement added); answers how many. */
export async function removeRowsAddedSince(
  uri: string,
  snapshot: Map<string, Set<string>>,
): Promise<number> {
  const client = await MongoClient.connect(uri);
  let removed = 0;
  try {
    const db = client.db();
    for (const name of await oidcCollections(db)) {
      const keep = snapshot.get(name) ?? new Set<string>();
      const extra: unknown[] = [];
      for await (const d of db.collection(name).find({}, { projection: { _id: 1 } }))
        if (!keep.has(String(d._id))) extra.push(d._id);
      for (let i = 0; i < extra.length; i += 1000) {
        removed +=
          (
            await db
              .collection(name)
              .deleteMany({ _id: { $in: extra.slice(i, i + 1000) } } as Document)
          ).deletedCount ?? 0;
      }
    }
    return removed;
  } finally {
    await client.close();
  }
}
