/**
 * Administration from the shell: `npm run admin -- <command> [options]`.
 *
 *   create-org <name> [--display-name "Name"]
 *   create-user --username U --email E [--name "Display"] [--org ORG] [--admin] [--platform-admin]
 *   add-member --username U --org ORG [--admin]
 *   reset-password --username U
 *   disable-user --username U  |  enable-user --username U
 *   list-users
 *
 * Passwords are read from KEYWARD_ADMIN_PASSWORD or, interactively, from the terminal (never
 * from the command line, where they would land in shell history and `ps`).
 */
import { parseArgs } from 'node:util';
import { createInterface } from 'node:readline';
import { loadScriptConfig } from './script-config.ts';
import { compose } from '../src/compose.ts';
import { createLogger } from '../src/platform/logging/logger.ts';
import { AppError } from '../src/platform/errors/app-error.ts';

const USAGE = `Usage: npm run admin -- <command> [options]

  create-org <name> [--display-name "Name"]
  create-user --username U --email E [--name "Display"] [--org ORG] [--admin] [--platform-admin]
  add-member --username U --org ORG [--admin]
  reset-password --username U
  disable-user --username U  |  enable-user --username U
  list-users

Passwords are read from KEYWARD_ADMIN_PASSWORD or, interactively, from the terminal.
The database is the one \`npm start\` uses (MONGODB_URI, else the embedded one in KEYWARD_DATA_DIR).`;
const COMMANDS = [
  'create-org',
  'create-user',
  'add-member',
  'reset-password',
  'disable-user',
  'enable-user',
  'list-users',
];

/** Usage problems end here, before any database is opened: one line, the usage, exit code 2. */
function usageError(message: string): never {
  console.error(`error: ${message}\n\n${USAGE}`);
  process.exit(2);
}

let parsed;
try {
  parsed = parseArgs({
    allowPositionals: true,
    options: {
      username: { type: 'string' },
      email: { type: 'string' },
      name: { type: 'string' },
      org: { type: 'string' },
      'display-name': { type: 'string' },
      admin: { type: 'boolean' },
      'platform-admin': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
} catch (err) {
  if (!(err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS_')) throw err;
  usageError((err as Error).message.split(/(?<=\.)\s/)[0]);
}
const { values, positionals } = parsed;
if (values.help || positionals[0] === 'help') {
  console.log(USAGE);
  process.exit(0);
}
if (!positionals[0]) usageError('name a command.');
if (!COMMANDS.includes(positionals[0])) usageError(`unknown command "${positionals[0]}".`);

async function readPassword(prompt: string): Promise<string> {
  if (process.env.KEYWARD_ADMIN_PASSWORD) return process.env.KEYWARD_ADMIN_PASSWORD;
  if (!process.stdin.isTTY) {
    const chunks: Buffer[] = [];
    for await (const c of process.stdin) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString('utf8').split('\n')[0];
  }
  const rl = createInterface({ input: process.stdin, output: process.stdout, terminal: true });
  const out = rl as unknown as { _writeToOutput: (s: string) => void; output: NodeJS.WriteStream };
  out._writeToOutput = (s: string) => {
    if (s.includes(prompt)) out.output.write(s);
  };
  const answer = await new Promise<string>((resolve) => rl.question(prompt, resolve));
  rl.close();
  process.stdout.write('\n');
  return answer;
}

function need(name: 'username' | 'email' | 'org'): string {
  const v = values[name];
  if (!v) throw new AppError('invalid_request', `--${name} is required`);
  return v;
}

const config = loadScriptConfig(1);
const c = await compose(config, { logger: createLogger('warn'), sweeps: false });
const [command, arg] = positionals;
try {
  switch (command) {
    case 'create-org': {
      if (!arg) throw new AppError('invalid_request', 'usage: create-org <name>');
      const org = await c.organizations.create(arg, values['display-name']);
      console.log(`created organization ${org.name}`);
      break;
    }
    case 'create-user': {
      const password = await readPassword('Password for the new user: ');
      const account = await c.accounts.register({
        username: need('username'),
        email: need('email'),
        displayName: values.name,
        password,
        platformAdmin: values['platform-admin'] ?? false,
      });
      if (values.org) {
        const org =
          (await c.organizations.findByName(values.org)) ??
          (await c.organizations.create(values.org));
        await c.organizations.addMember(org.id, account.id, { admin: values.admin ?? false });
      }
      console.log(
        `created user ${account.username}${values.org ? ` in ${values.org}${values.admin ? ' (org:admin)' : ''}` : ''}`,
      );
      break;
    }
    case 'add-member': {
      const account = await c.accounts.requireByLogin(need('username'));
      const org = await c.organizations.requireByName(need('org'));
      await c.organizations.addMember(org.id, account.id, { admin: values.admin ?? false });
      console.log(
        `${account.username} is a member of ${org.name}${values.admin ? ' (org:admin)' : ''}`,
      );
      break;
    }
    case 'reset-password': {
      const username = need('username');
      await c.accounts.setPassword(username, await readPassword(`New password for ${username}: `));
      console.log(`password reset for ${username}`);
      break;
    }
    case 'disable-user':
    case 'enable-user': {
      await c.accounts.setDisabled(need('username'), command === 'disable-user');
      console.log(`${values.username} ${command === 'disable-user' ? 'disabled' : 'enabled'}`);
      break;
    }
    case 'list-users': {
      for (const a of await c.accounts.list(1000)) {
        const orgs = (await c.organizations.membershipsOf(a.id)).map(
          (m) => `${m.organization.name}${m.admin ? '(admin)' : ''}`,
        );
        console.log(
          [
            a.username,
            a.email,
            a.disabled ? 'disabled' : 'active',
            a.platformAdmin ? 'platform-admin' : '',
            orgs.join(','),
          ].join('\t'),
        );
      }
      break;
    }
    default:
      usageError(`unknown command "${command}".`);
  }
} catch (err) {
  if (err instanceof AppError) {
    console.error(`error: ${err.message}`);
    process.exitCode = 1;
  } else throw err;
} finally {
  await c.close();
}
