/**
 * The CLI's argv, parsed by Node's own `util.parseArgs` (strict): positional words, `--flag`,
 * `--name value`, `--name=value`, `-o value` / `-ovalue`. Its errors become usage errors (exit 2)
 * with Node's own wording, which names the offending option.
 */
import { parseArgs as parseArgv } from 'node:util';
import { usage } from './errors.ts';

const OPTIONS = {
  server: { type: 'string' },
  'device-name': { type: 'string' },
  context: { type: 'string' },
  output: { type: 'string', short: 'o' },
  ttl: { type: 'string' },
  title: { type: 'string' },
  duration: { type: 'string' },
  'expires-in': { type: 'string' },
  key: { type: 'string' },
  validity: { type: 'string' },
  print: { type: 'boolean' },
  force: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
} as const;

type Valued = {
  [K in keyof typeof OPTIONS]: (typeof OPTIONS)[K]['type'] extends 'string' ? K : never;
}[keyof typeof OPTIONS];
type Flag = Exclude<keyof typeof OPTIONS, Valued>;

export interface Parsed {
  words: string[];
  value(name: Valued): string | undefined;
  flag(name: Flag): boolean;
}

export function parseArgs(argv: string[]): Parsed {
  let parsed: ReturnType<
    typeof parseArgv<{
      args: string[];
      options: typeof OPTIONS;
      allowPositionals: true;
      strict: true;
    }>
  >;
  try {
    parsed = parseArgv({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    const e = err as Error & { code?: string };
    if (!e.code?.startsWith('ERR_PARSE_ARGS_')) throw err;
    // Node's message is one or two sentences; the first names the option and what is wrong.
    throw usage(e.message.split(/(?<=\.)\s/)[0]);
  }
  const values = parsed.values as Record<string, string | boolean | undefined>;
  return {
    words: parsed.positionals,
    value: (name) => values[name] as string | undefined,
    flag: (name) => values[name] === true,
  };
}

/** `-o json` / `--output json` (or plain text). */
export function outputFormat(p: Parsed): 'json' | 'text' {
  const o = p.value('output');
  if (o === undefined || o === 'text') return 'text';
  if (o === 'json') return 'json';
  throw usage(`Unknown output format "${o}": use -o json or -o text.`);
}

export function intOption(
  p: Parsed,
  name: 'ttl' | 'duration' | 'expires-in',
  min: number,
  max: number,
): number | undefined {
  const raw = p.value(name);
  if (raw === undefined) return undefined;
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw usage(`--${name} must be a whole number from ${min} to ${max} (got "${raw}").`);
  }
  return Number(raw);
}
