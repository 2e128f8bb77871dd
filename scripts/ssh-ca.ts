/**
 * Keyward's SSH user certificate authority keys, from the shell (same configuration and
 * database as the server: KEYWARD_ENCRYPTION_KEY, MONGODB_URI, …):
 *
 *   node scripts/ssh-ca.ts list                          every key: id, state, type, fingerprint
 *   node scripts/ssh-ca.ts rotate [--algorithm ALG]      add a key, published but not signing yet
 *                                                       (ALG: ed25519 (default), ecdsa-p256/384/521)
 *   node scripts/ssh-ca.ts activate <id>                 the key signs from now on; the previous one
 *                                                       stays published
 *   node scripts/ssh-ca.ts retire <id>                   the key leaves ca.pub (never the active one)
 *
 * Rotation: rotate → wait until every server has fetched the new ca.pub (both keys trusted) →
 * activate the new key → wait until certificates of the old key have expired (≤ 24 h) → retire it.
 * Add `-o json` for machine-readable output. Exit status: 0 ok, 1 refused, 2 usage.
 */
import { parseArgs } from 'node:util';
import { loadScriptConfig } from './script-config.ts';
import { compose } from '../src/compose.ts';
import { createLogger } from '../src/platform/logging/logger.ts';
import { AppError } from '../src/platform/errors/app-error.ts';
import { CA_ALGORITHMS, type CaAlgorithm } from '../src/features/ssh-ca/ssh-ca-key.ts';
import type { CaKeyView } from '../src/features/ssh-ca/ssh-ca-service.ts';

const USAGE =
  'usage: node scripts/ssh-ca.ts list | rotate [--algorithm ed25519|ecdsa-p256|ecdsa-p384|ecdsa-p521] | activate <id> | retire <id>  [-o json]';

let parsed;
try {
  parsed = parseArgs({
    allowPositionals: true,
    options: { algorithm: { type: 'string' }, output: { type: 'string', short: 'o' } },
  });
} catch (err) {
  console.error(`${(err as Error).message}\n${USAGE}`);
  process.exit(2);
}
const { values, positionals } = parsed;
const [command, id, ...extra] = positionals;
const algorithm = values.algorithm as CaAlgorithm | undefined;
const usageProblem = !command
  ? 'no command'
  : !['list', 'rotate', 'activate', 'retire'].includes(command)
    ? `unknown command "${command}"`
    : ['activate', 'retire'].includes(command) && !id
      ? `${command} needs a key id (see list)`
      : extra.length || (['list', 'rotate'].includes(command) && id)
        ? 'too many arguments'
        : algorithm && !CA_ALGORITHMS.includes(algorithm)
          ? `unknown algorithm "${algorithm}"`
          : values.output && values.output !== 'json'
            ? '-o takes json'
            : undefined;
if (usageProblem) {
  console.error(`${usageProblem}\n${USAGE}`);
  process.exit(2);
}

const config = loadScriptConfig(2);

const json = values.output === 'json';
const line = (k: CaKeyView) =>
  [k.id, k.state.padEnd(9), k.type.padEnd(19), k.fingerprint, k.createdAt.toISOString()].join('  ');
const c = await compose(config, { logger: createLogger('warn'), sweeps: false });
try {
  const ca = c.sshCa.ca;
  let out: CaKeyView | CaKeyView[];
  if (command === 'list') out = await ca.list();
  else if (command === 'rotate') out = await ca.rotate(algorithm);
  else if (command === 'activate') out = await ca.activate(id);
  else out = await ca.retire(id);
  if (json) console.log(JSON.stringify(out));
  else if (Array.isArray(out)) for (const k of out) console.log(line(k));
  else {
    console.log(line(out));
    const next = {
      rotate: `published ${out.id}: once every server has fetched ca.pub, run \`activate ${out.id}\``,
      activate: `${out.id} signs new certificates; retire the previous key after its certificates expire`,
      retire: `${out.id} is no longer published`,
    }[command as 'rotate' | 'activate' | 'retire'];
    console.error(next);
  }
} catch (err) {
  if (err instanceof AppError) {
    console.error(`error: ${err.message}`);
    process.exitCode = 1;
  } else throw err;
} finally {
  await c.close();
}
