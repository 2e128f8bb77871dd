/** A small argv parser: positional words, `--flag`, `--name value`, `--name=value` and `-o value`. */
import { usage } from './errors.ts';

export interface Parsed {
  words: string[];
  values: Map<string, string>;
  flags: Set<string>;
}

const SHORT: Record<string, string> = { o: 'output', h: 'help', v: 'version' };

/** `valued` names take a value; `booleans` do not. Anything else is a usage error. */
export function parseArgs(argv: string[], valued: readonly string[], booleans: readonly string[]): Parsed {
  const out: Parsed = { words: [], values: new Map(), flags: new Set() };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') { out.words.push(...argv.slice(i + 1)); break; }
    if (!arg.startsWith('-') || arg === '-') { out.words.push(arg); continue; }
    const long = arg.startsWith('--');
    const eq = arg.indexOf('=');
    const rawName = long ? arg.slice(2, eq > 0 ? eq : undefined) : arg.slice(1, 2);
    const name = long ? rawName : SHORT[rawName] ?? rawName;
    if (booleans.includes(name)) {
      if (eq > 0) throw usage(`--${name} does not take a value.`);
      out.flags.add(name);
      continue;
    }
    if (!valued.includes(name)) throw usage(`Unknown option ${long ? `--${rawName}` : `-${rawName}`}.`);
    let value: string | undefined;
    if (long && eq > 0) value = arg.slice(eq + 1);
    else if (!long && arg.length > 2) value = arg.slice(2);
    else value = argv[++i];
    if (value === undefined) throw usage(`--${name} needs a value.`);
    out.values.set(name, value);
  }
  return out;
}

/** `-o json` / `--output json` (or plain text). */
export function outputFormat(p: Parsed): 'json' | 'text' {
  const o = p.values.get('output');
  if (o === undefined || o === 'text') return 'text';
  if (o === 'json') return 'json';
  throw usage(`Unknown output format "${o}": use -o json or -o text.`);
}

export function intOption(p: Parsed, name: string, min: number, max: number): number | undefined {
  const raw = p.values.get(name);
  if (raw === undefined) return undefined;
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) throw usage(`--${name} must be a whole number from ${min} to ${max} (got "${raw}").`);
  return Number(raw);
}
