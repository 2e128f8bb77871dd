/**
 * `keyward`: the reference CLI for Keyward. It signs in with the OAuth device flow (like
 * `gh auth login`), keeps the result in the contract's credentials file, prints tokens for SDKs
 * (`keyward token --print -o json`) and manages API keys through the REST API. It is a client:
 * it talks to Keyward over HTTP only and never imports the server's code.
 */
import { intOption, outputFormat, parseArgs } from './args.ts';
import { CliError, ExitCode, usage } from './errors.ts';
import { credentialsPath } from './credentials.ts';
import { CLI_VERSION, normalizeServer } from './http.ts';
import { login, type Io } from './commands/login.ts';
import { logout, printToken, whoami } from './commands/account.ts';
import { createKey, createToken, deleteKey, listKeys } from './commands/keys.ts';
import { sshCert } from './commands/ssh-cert.ts';
import type { ApiEnv } from './api.ts';

const HELP = `keyward ${CLI_VERSION}: sign in to Keyward from the command line

Usage:
  keyward login [--server URL] [--device-name NAME] [--context NAME]
  keyward token --print [-o json]          print a current access token (renewed when < 2 min left)
  keyward token create [--ttl HOURS]       create a short-term CLI token (1-24 h, REST API)
  keyward whoami [-o json]
  keyward logout [--force]                 revoke this device's sign-in and forget it
  keyward keys list [-o json]
  keyward keys create [--title T] [--duration DAYS | --expires-in SECONDS] [-o json]
  keyward keys delete TITLE
  keyward ssh-cert [--key ~/.ssh/id_ed25519.pub] [--validity 1h] [-o json]
                                           short-lived SSH certificate, written as <key>-cert.pub

Options: --context NAME selects a saved context (default: the current one).

Environment:
  KEYWARD_SERVER            server for \`login\` when --server is not given
  KEYWARD_CONTEXT           context to use (like --context)
  KEYWARD_CREDENTIALS_FILE  credentials file (default $XDG_CONFIG_HOME/keyward/credentials,
                            else ~/.config/keyward/credentials)
  KEYWARD_API_KEY           an API key or token to use instead of the saved sign-in for
                            whoami/keys/token create (its server is read from the key, or KEYWARD_SERVER)

Exit codes: 0 ok, 1 error, 2 usage, 3 server unreachable, 4 not signed in / signed out,
            5 sign-in denied, 6 code expired`;

const VALUED = ['server', 'device-name', 'context', 'output', 'ttl', 'title', 'duration', 'expires-in', 'key', 'validity'] as const;
const BOOLEANS = ['print', 'force', 'help', 'version'] as const;

export async function run(argv: string[], env: NodeJS.ProcessEnv, io: Io): Promise<number> {
  try {
    const args = parseArgs(argv, VALUED, BOOLEANS);
    const [command, sub, ...rest] = args.words;
    if (args.flags.has('version')) { io.out(CLI_VERSION); return ExitCode.ok; }
    if (!command || command === 'help' || args.flags.has('help')) { io.out(HELP); return ExitCode.ok; }
    const format = outputFormat(args);
    const context = args.values.get('context') ?? (env.KEYWARD_CONTEXT || undefined);
    const base = { credentialsPath: credentialsPath(env), context, warn: (m: string) => io.err(m) };
    const api: ApiEnv = { ...base, apiKey: env.KEYWARD_API_KEY || undefined, server: env.KEYWARD_SERVER ? normalizeServer(env.KEYWARD_SERVER) : undefined };
    const extra = (allowed: number) => { if (rest.length + (sub ? 1 : 0) > allowed) throw usage(`Unexpected argument "${[sub, ...rest].filter(Boolean)[allowed]}".`); };

    switch (command) {
      case 'login':
        extra(0);
        await login({ ...base, defaultServer: env.KEYWARD_SERVER || undefined }, { server: args.values.get('server'), deviceName: args.values.get('device-name'), context }, io);
        break;
      case 'token':
        if (sub === 'create') { extra(1); await createToken(api, intOption(args, 'ttl', 1, 24), format, io); break; }
        extra(0);
        if (!args.flags.has('print')) throw usage('Use `keyward token --print` (or `keyward token create`).');
        await printToken(base, format, io);
        break;
      case 'whoami':
        extra(0);
        if (api.apiKey) throw usage('whoami shows the signed-in context; unset KEYWARD_API_KEY to use it.');
        await whoami(base, format, io);
        break;
      case 'logout':
        extra(0);
        await logout(base, args.flags.has('force'), io);
        break;
      case 'keys':
        if (sub === 'list') { extra(1); await listKeys(api, format, io); break; }
        if (sub === 'create') {
          extra(1);
          await createKey(api, { title: args.values.get('title'), duration: intOption(args, 'duration', 0, 99999), expiresIn: intOption(args, 'expires-in', 900, 8639913600) }, format, io);
          break;
        }
        if (sub === 'delete') { extra(2); await deleteKey(api, rest[0], io); break; }
        throw usage(`Unknown keys command "${sub ?? ''}": use list, create or delete.`);
      case 'ssh-cert':
        extra(0);
        await sshCert(api, { key: args.values.get('key'), validity: args.values.get('validity') }, format, io);
        break;
      default:
        throw usage(`Unknown command "${command}".`);
    }
    return ExitCode.ok;
  } catch (err) {
    if (err instanceof CliError) {
      io.err(`error: ${err.message}`);
      if (err.hint) io.err(err.hint);
      return err.exitCode;
    }
    io.err(`error: ${(err as Error)?.stack ?? String(err)}`);
    return ExitCode.failure;
  }
}

/** The process entry point (bin/keyward.js): runs with the real argv, environment and streams. */
export async function main(): Promise<void> {
  process.exitCode = await run(process.argv.slice(2), process.env, {
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
  });
}
