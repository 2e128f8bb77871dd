#!/usr/bin/env node
// The `keyward` command (package.json "bin"). The CLI is TypeScript in ../cli, which Node runs
// directly from 22.18 / 23.6 on (type stripping). In this repository `npx keyward …` (or
// `npm exec keyward -- …`) puts the project's Node 24 first on PATH.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 18) || (major === 23 && minor < 6)) {
  process.stderr.write(`keyward needs Node.js 22.18 or newer to run its TypeScript sources (this is ${process.version}).\n` +
    'In the Keyward repository, run it as `npx keyward …`, which uses the project\'s Node 24.\n');
  process.exit(1);
}
const { main } = await import('../cli/main.ts');
await main();
