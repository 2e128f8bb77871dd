/** `keyward auth login [--server URL] [--device-name NAME] [--context NAME]`: the OAuth device flow. */
import { hostname } from 'node:os';
import { CliError, ExitCode } from '../errors.ts';
import { normalizeServer } from '../http.ts';
import {
  readCredentials,
  selectIdentity,
  upsertIdentity,
  writeCredentials,
} from '../credentials.ts';
import { withFileLock } from '../file-lock.ts';
import {
  CLIENT_ID,
  discover,
  pollForTokens,
  revoke,
  startDeviceAuthorization,
  userinfo,
} from '../oauth.ts';
import type { CliEnv } from '../session.ts';

export interface LoginOptions {
  server?: string;
  deviceName?: string;
  context?: string;
}

export interface Io {
  out(line: string): void;
  err(line: string): void;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function login(
  env: CliEnv & { defaultServer?: string },
  opts: LoginOptions,
  io: Io,
): Promise<void> {
  const file = readCredentials(env.credentialsPath, env.warn);
  const rawServer =
    opts.server ?? env.defaultServer ?? selectIdentity(file, opts.context ?? env.context)?.server;
  if (!rawServer)
    throw new CliError(
      'Which Keyward server? Pass --server URL (or set KEYWARD_SERVER).',
      ExitCode.usage,
    );
  const server = normalizeServer(rawServer);
  const deviceName = (opts.deviceName ?? hostname()).slice(0, 64);

  const ep = await discover(server);
  const start = await startDeviceAuthorization(ep, deviceName);
  io.err(`! First copy your one-time code: ${start.user_code}`);
  io.err(`  Then open ${start.verification_uri} in a browser and enter it,`);
  if (start.verification_uri_complete) io.err(`  or open ${start.verification_uri_complete}`);
  io.err(
    `  Waiting for approval (the code expires in ${Math.round(start.expires_in / 60)} minutes; Ctrl-C to cancel)…`,
  );

  const tokens = await pollForTokens(ep, start, {
    sleep,
    now: Date.now,
    onSlowDown: (interval) =>
      io.err(`  (the server asked to poll more slowly: every ${interval} s)`),
  });
  const me = await userinfo(ep, tokens.access_token);
  if (!me) throw new CliError('The server did not accept the token it just issued.');
  const username = me.preferred_username ?? me.sub;
  const host = new URL(server).host;

  // Under the lock that renewals take, so a concurrent renewal of another context is not undone.
  const { name, replaced } = await withFileLock(`${env.credentialsPath}.lock`, async () => {
    const fresh = readCredentials(env.credentialsPath, env.warn);
    const canonicalName = `user:${username}@${host}`;
    const replaced = Object.values(fresh.identities).find((i) =>
      opts.context ? i.name === opts.context : i.canonicalName === canonicalName,
    );
    const name = upsertIdentity(
      fresh,
      {
        token: tokens.access_token,
        server,
        name: opts.context ?? `${username}@${host}`,
        canonicalName,
        oauth: {
          clientId: CLIENT_ID,
          expiresAt: new Date(Date.now() + tokens.expires_in * 1000).toISOString(),
          refreshToken: tokens.refresh_token,
          scope: tokens.scope,
          deviceName,
        },
      },
      opts.context,
    );
    writeCredentials(env.credentialsPath, fresh);
    return { name, replaced };
  });
  // The sign-in this one replaces would otherwise stay valid (and listed) on the server: end it.
  const previous = replaced?.oauth?.refreshToken;
  if (previous && replaced!.server === server)
    await revoke(ep, previous, 'refresh_token').catch(() => undefined);
  io.err(`✓ Signed in to ${server} as ${username} (context "${name}").`);
}
