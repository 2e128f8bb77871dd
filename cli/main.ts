/**
 * `keyward`: the reference CLI for Keyward, shaped like the platform's `pw auth …` so the SDKs'
 * CLIAuth can run it unmodified (contract §5.4). It signs in with the OAuth device flow (like
 * `gh auth login`), keeps the result in the platform's credentials file (§5.3), prints tokens for
 * SDKs (`keyward auth token --print -o json`) and manages API keys through the REST API. It is a
 * client: it talks to Keyward over HTTP only and never imports the server's code.
 */
import { intOption, outputFormat, parseArgs } from './args.ts';
import { CliError, ExitCode, usage } from './errors.ts';
import { credentialsPath, migrateLegacyCredentials } from './credentials.ts';
import { CLI_VERSION, normalizeServer } from './http.ts';
import { login, type Io } from './commands/login.ts';
import { logout, printToken, whoami } from './commands/account.ts';
import { createKey, createToken, deleteKey, listKeys } from './commands/keys.ts';
import { sshCert } from './commands/ssh-cert.ts';
import type { ApiEnv } from './api.ts';

const HELP = `keyward ${CLI_VERSION}: sign in to Keyward from the command line

Usage:
  keyward auth login [--server URL] [--device-name NAME] [--context NAME]
  keyward auth token [--print] [-o json]   print a current access token (renewed when < 2 min left)
  keyward auth whoami [-o json]
  keyward auth logout [--force]            revoke this device's sign-in and forget it
  keyward token create [--ttl HOURS]       create a short-term CLI token (1-24 h, REST API)
  keyward keys list [-o json]
  keyward keys create [--title T] [--duration DAYS | --expires-in SECONDS] [-o json]
  keyward keys delete TITLE
  keyward ssh-cert [--key ~/.ssh/id_ed25519.pub] [--validity 1h] [-o json]
                                           short-lived SSH certificate, written as <key>-cert.pub
  Short forms: keyward login | logout | whoami | token --print.

Options: --context NAME selects a saved context (default: the current one).

Environment:
  KEYWARD_SERVER            server for \`auth login\` when --server is not given
  KEYWARD_CONTEXT, PW_CONTEXT  context to use (like --context)
  PW_CREDENTIALS_DIR        credentials file is $PW_CREDENTIALS_DIR/.credentials; default
                            $XDG_CONFIG_HOME/pw/credentials, else ~/.config/pw/credentials
                            (the platform's file, which its SDKs read)
  KEYWARD_CREDENTIALS_FILE  a credentials file for this CLI only (the SDKs do not read it)
  KEYWARD_API_KEY           an API key or token to use instead of the saved sign-in for
                            keys/token create/ssh-cert (its server is read from the key, or KEYWARD_SERVER)

Exit codes: 0 ok, 1 error, 2 usage, 3 server unreachable, 4 not signed in / signed out,
            5 sign-in denied, 6 code expired`;

const AUTH_COMMANDS = ['login', 'logout', 'token', 'whoami'];

export async function run(argv: string[], env: NodeJS.ProcessEnv, io: Io): Promise<number> {
  try {
    const args = parseArgs(argv);
    if (args.flag('version')) {
      io.out(CLI_VERSION);
      return ExitCode.ok;
    }
    // `keyward auth <command>` is the platform's shape (contract §5.4); `keyward <command>` its short form.
    const inAuth = args.words[0] === 'auth';
    const [command, sub, ...rest] = inAuth ? args.words.slice(1) : args.words;
    if (args.flag('help') || (!command && !inAuth) || command === 'help') {
      io.out(HELP);
      return ExitCode.ok;
    }
    if (inAuth && !AUTH_COMMANDS.includes(command ?? '')) {
      throw usage(
        command
          ? `Unknown auth command "${command}": use login, logout, token or whoami.`
          : 'Use `keyward auth login | logout | token | whoami`.',
      );
    }
    const format = outputFormat(args);
    const context = args.value('context') ?? (env.KEYWARD_CONTEXT || env.PW_CONTEXT || undefined);
    const notice = migrateLegacyCredentials(env, (m) => io.err(m));
    if (notice) io.err(notice);
    const base = { credentialsPath: credentialsPath(env), context, warn: (m: string) => io.err(m) };
    const api: ApiEnv = {
      ...base,
      apiKey: env.KEYWARD_API_KEY || undefined,
      server: env.KEYWARD_SERVER ? normalizeServer(env.KEYWARD_SERVER) : undefined,
    };
    const extra = (allowed: number) => {
      const words = [sub, ...rest].filter((w) => w !== undefined);
      if (words.length > allowed) throw usage(`Unexpected argument "${words[allowed]}".`);
    };

    switch (command) {
      case 'login':
        extra(0);
        await login(
          { ...base, defaultServer: env.KEYWARD_SERVER || undefined },
          { server: args.value('server'), deviceName: args.value('device-name'), context },
          io,
        );
        break;
      case 'token':
        if (sub === 'create' && !inAuth) {
          extra(1);
          await createToken(api, intOption(args, 'ttl', 1, 24), format, io);
          break;
        }
        extra(0);
        if (!inAuth && !args.flag('print'))
          throw usage('Use `keyward auth token --print` (or `keyward token create`).');
        await printToken(base, format, io);
        break;
      case 'whoami':
        extra(0);
        if (api.apiKey)
          throw usage('whoami shows the signed-in context; unset KEYWARD_API_KEY to use it.');
        await whoami(base, format, io);
        break;
      case 'logout':
        extra(0);
        await logout(base, args.flag('force'), io);
        break;
      case 'keys':
        if (sub === 'list') {
          extra(1);
          await listKeys(api, format, io);
          break;
        }
        if (sub === 'create') {
          extra(1);
          await createKey(
            api,
            {
              title: args.value('title'),
              duration: intOption(args, 'duration', 0, 99999),
              expiresIn: intOption(args, 'expires-in', 900, 8639913600),
            },
            format,
            io,
          );
          break;
        }
        if (sub === 'delete') {
          extra(2);
          await deleteKey(api, rest[0], io);
          break;
        }
        throw usage(`Unknown keys command "${sub ?? ''}": use list, create or delete.`);
      case 'ssh-cert':
        extra(0);
        await sshCert(
          api,
          { key: args.value('key'), validity: args.value('validity') },
          format,
          io,
        );
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
