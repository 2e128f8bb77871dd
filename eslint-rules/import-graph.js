/**
 * Two rules over the import graph of src/ (every import, type-only and `import('…')` types
 * included, which import plugins skip):
 *  - `layers`: the platform kernel (src/platform) never imports a feature (src/features) or the
 *    composition root (src/*.ts); features never import the composition root.
 *  - `no-cycle`: no file is part of an import cycle.
 * The graph is read from the files on disk once per lint run.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

const SPEC = /(?:from\s+|import\s*\(\s*|import\s+)'(\.{1,2}\/[^']+)'/g;

function listTs(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...listTs(p));
    else if (p.endsWith('.ts')) out.push(p);
  }
  return out;
}

const graphs = new Map();
/** { edges: Map<file, {target, line}[]>, sccOf: Map<file, number>, sccSize: number[] } for the src folder. */
function graphFor(srcDir) {
  let g = graphs.get(srcDir);
  if (g) return g;
  const files = listTs(srcDir);
  const edges = new Map();
  for (const f of files) {
    const text = readFileSync(f, 'utf8');
    const list = [];
    for (const m of text.matchAll(SPEC)) {
      const target = resolve(dirname(f), m[1]);
      list.push({ target, index: m.index, spec: m[1] });
    }
    edges.set(f, list);
  }
  // Tarjan's strongly connected components.
  let index = 0;
  const idx = new Map();
  const low = new Map();
  const stack = [];
  const on = new Set();
  const sccOf = new Map();
  const sccSize = [];
  const visit = (v) => {
    idx.set(v, index);
    low.set(v, index);
    index++;
    stack.push(v);
    on.add(v);
    for (const { target: w } of edges.get(v) ?? []) {
      if (!edges.has(w)) continue;
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v), low.get(w)));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)));
    }
    if (low.get(v) === idx.get(v)) {
      const id = sccSize.length;
      let n = 0;
      let w;
      do {
        w = stack.pop();
        on.delete(w);
        sccOf.set(w, id);
        n++;
      } while (w !== v);
      sccSize.push(n);
    }
  };
  for (const f of files) if (!idx.has(f)) visit(f);
  g = { edges, sccOf, sccSize };
  graphs.set(srcDir, g);
  return g;
}

const srcDirOf = (filename) => {
  const parts = filename.split(sep);
  const i = parts.lastIndexOf('src');
  return i < 0 ? undefined : parts.slice(0, i + 1).join(sep);
};
const layerOf = (srcDir, file) => {
  const rel = relative(srcDir, file).split(sep);
  if (rel.length === 1) return 'root';
  return rel[0] === 'platform' ? 'platform' : rel[0] === 'features' ? 'features' : 'other';
};
const FORBIDDEN = { platform: ['features', 'root'], features: ['root'] };

function lineCol(text, index) {
  const before = text.slice(0, index).split('\n');
  return { line: before.length, column: before.at(-1).length };
}

/** A rule that looks at this file's imports in the graph once, at its Program node. */
function graphRule(check) {
  return {
    meta: { type: 'problem', schema: [] },
    create(context) {
      const file = context.filename;
      const srcDir = srcDirOf(file);
      if (!srcDir) return {};
      const report = (e, message) =>
        context.report({ loc: lineCol(context.sourceCode.text, e.index), message });
      return { Program: () => check({ graph: graphFor(srcDir), srcDir, file, report }) };
    },
  };
}

export default {
  rules: {
    layers: graphRule(({ graph, srcDir, file, report }) => {
      const from = layerOf(srcDir, file);
      for (const e of graph.edges.get(file) ?? []) {
        const to = layerOf(srcDir, e.target);
        if ((FORBIDDEN[from] ?? []).includes(to)) {
          report(
            e,
            `src/${from} must not import ${to === 'root' ? 'the composition root' : 'a feature'} ('${e.spec}'): pass what it needs in from src/compose.ts.`,
          );
        }
      }
    }),
    'no-cycle': graphRule(({ graph, file, report }) => {
      const mine = graph.sccOf.get(file);
      if (mine === undefined || graph.sccSize[mine] < 2) return;
      for (const e of graph.edges.get(file) ?? []) {
        if (graph.sccOf.get(e.target) === mine)
          report(e, `Import cycle: '${e.spec}' leads back to this file (type-only imports count).`);
      }
    }),
  },
};
