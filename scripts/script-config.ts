/** Configuration for the command-line scripts: the problem on stderr and an exit code, not a stack trace. */
import type { Config } from '../src/platform/config/schema.ts';
import { ConfigError, loadConfigFromProcess } from '../src/platform/config/load-config.ts';

export function loadScriptConfig(exitCode: number): Config {
  try {
    return loadConfigFromProcess({ logLevel: 'warn' });
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    console.error(e.message);
    process.exit(exitCode);
  }
}
