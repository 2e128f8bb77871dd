/**
 * Where Keyward's main thread spends its time: a V8 CPU profile (`node --cpu-prof`, written when
 * the process exits), each sample charged to its nearest caller that is a package under
 * node_modules or a folder of Keyward's src/ (so Node's and V8's internals count for whoever called
 * them); what no such frame called stays with Node's internals or the garbage collector. Shares are
 * of the busy (non-idle) time. Work in the thread pool (argon2 hashing) is not in it.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { url: string; functionName: string };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

function origin(url: string, fn: string): string {
  if (!url) return fn.startsWith('(') ? fn : '(native / V8 builtins)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1];
  if (url.startsWith('node:')) return 'node: internals (http, streams, net, crypto)';
  const src = /\/(src\/[^/]+)(\/|$)/.exec(url);
  if (src) return `keyward ${src[1].replace(/\.ts$/, '')}`;
  return url.replace(/^file:\/\//, '');
}

/** Shares of the busy (non-idle) time by origin, largest first, in the profiles found in `dir`. */
export function summarizeProfiles(dir: string): { origin: string; share: number }[] {
  const byOrigin = new Map<string, number>();
  for (const f of readdirSync(dir).filter((x) => x.endsWith('.cpuprofile'))) {
    const prof = JSON.parse(readFileSync(join(dir, f), 'utf8')) as Profile;
    const nodes = new Map(prof.nodes.map((n) => [n.id, n]));
    const parent = new Map<number, number>();
    for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
    const owner = new Map<number, string>();
    const ownerOf = (id: number): string => {
      const known = owner.get(id);
      if (known) return known;
      const self = nodes.get(id)!;
      let key = origin(self.callFrame.url, self.callFrame.functionName);
      const attributable = (k: string) => !k.startsWith('(') && !k.startsWith('node:');
      if (!attributable(key) && key !== '(garbage collector)' && key !== '(idle)') {
        for (let up = parent.get(id); up !== undefined; up = parent.get(up)) {
          const n = nodes.get(up)!;
          const k = origin(n.callFrame.url, n.callFrame.functionName);
          if (attributable(k)) {
            key = k;
            break;
          }
        }
      }
      owner.set(id, key);
      return key;
    };
    prof.samples.forEach((id, i) => {
      if (!nodes.has(id)) return;
      const key = ownerOf(id);
      byOrigin.set(key, (byOrigin.get(key) ?? 0) + (prof.timeDeltas[i] ?? 0));
    });
  }
  byOrigin.delete('(idle)');
  const busy = [...byOrigin.values()].reduce((a, b) => a + b, 0);
  return [...byOrigin]
    .map(([o, t]) => ({ origin: o, share: busy ? t / busy : 0 }))
    .sort((a, b) => b.share - a.share);
}
