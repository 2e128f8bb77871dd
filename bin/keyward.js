#!/usr/bin/env node
// The `keyward` command (package.json "bin"). The CLI is TypeScript in ../cli, which Node runs
// directly from 22.18 / 23.6 on (type stripping). Started by an older `node` (the first on PATH,
// as when the platform SDKs' CLIAuth runs `keyward auth token …`), it hands over to the project's
// own Node 24 (node_modules/node, installed by `npm install`), passing signals and the exit status.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const [major, minor] = process.versions.node.split('.').map(Number);
const tooOld = major < 22 || (major === 22 && minor < 18) || (major === 23 && minor < 6);

if (!tooOld) {
  const { main } = await import('../cli/main.ts');
  await main();
} else {
  const projectNode = fileURLToPath(new URL('../node_modules/node/bin/node', import.meta.url));
  if (!existsSync(projectNode)) {
    process.stderr.write(
      `keyward needs Node.js 22.18 or newer to run its TypeScript sources (this is ${process.version}).\n` +
        'Run `npm install` in the Keyward repository (it installs Node 24 there), or install a newer Node.js.\n',
    );
    process.exit(1);
  }
  const child = spawn(projectNode, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
    stdio: 'inherit',
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'])
    process.on(signal, () => child.kill(signal));
  child.on('error', (err) => {
    process.stderr.write(`keyward: cannot run ${projectNode}: ${err.message}\n`);
    process.exit(1);
  });
  child.on('exit', (code, signal) => {
    if (signal) {
      process.removeAllListeners(signal);
      process.kill(process.pid, signal);
    }
    process.exit(code ?? 1);
  });
}
