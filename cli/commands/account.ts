/** `keyward auth token --print`, `keyward auth whoami`, `keyward auth logout`. */
import { CliError, ExitCode } from '../errors.ts';
import { readCredentials, selectIdentity, writeCredentials } from '../credentials.ts';
import { discover, revoke, userinfo } from '../oauth.ts';
import { withFileLock } from '../file-lock.ts';
import { currentToken, requireIdentity, type CliEnv } from '../session.ts';
import type { Io } from './login.ts';

/** Prints the current access token; with json exactly an RFC 6749 §5.1 object (contract §5.4). */
export async function printToken(env: CliEnv, format: 'json' | 'text', io: Io): Promise<void> {
  const current = await currentToken(env);
  if (format === 'text') return io.out(current.accessToken);
  const out: { access_token: string; token_type: 'Bearer'; expires_in?: number } = {
    access_token: current.accessToken,
    token_type: 'Bearer',
  };
  if (current.expiresAt)
    out.expires_in = Math.max(0, Math.floor((current.expiresAt.getTime() - Date.now()) / 1000));
  io.out(JSON.stringify(out));
}

export async function whoami(env: CliEnv, format: 'json' | 'text', io: Io): Promise<void> {
  const identity = requireIdentity(env);
  const ep = await discover(identity.server);
  let current = await currentToken(env, { endpoints: ep });
  let me = await userinfo(ep, current.accessToken);
  if (!me) {
    current = await currentToken(env, { force: true, endpoints: ep });
    me = await userinfo(ep, current.accessToken);
  }
  if (!me)
    throw new CliError(
      `${identity.server} no longer accepts this sign-in.`,
      ExitCode.notSignedIn,
      'Run `keyward auth login` to sign in again.',
    );
  const username = me.preferred_username ?? me.sub;
  if (format === 'json') {
    return io.out(
      JSON.stringify({
        username,
        name: me.name,
        email: me.email,
        sub: me.sub,
        server: identity.server,
        context: current.identity.name,
      }),
    );
  }
  io.out(
    `${username}${me.name ? ` (${me.name}${me.email ? ` <${me.email}>` : ''})` : ''} on ${identity.server} [context ${current.identity.name}]`,
  );
}

/** Revokes the refresh token (and with it the device's tokens) and removes the context. */
export async function logout(env: CliEnv, force: boolean, io: Io): Promise<void> {
  const file = readCredentials(env.credentialsPath, env.warn);
  const name = env.context ?? file.currentIdentity;
  const identity = selectIdentity(file, env.context);
  if (!name || !identity)
    throw new CliError('You are not signed in (no credentials found).', ExitCode.notSignedIn);
  const token = identity.oauth?.refreshToken ?? identity.token;
  if (token && !identity.apikey) {
    try {
      await revoke(
        await discover(identity.server),
        token,
        identity.oauth?.refreshToken ? 'refresh_token' : 'access_token',
      );
    } catch (err) {
      if (!force) {
        if (err instanceof CliError)
          throw new CliError(
            err.message,
            err.exitCode,
            'Nothing was removed. `keyward auth logout --force` removes the local credentials anyway.',
          );
        throw err;
      }
      io.err(
        `warning: could not revoke the sign-in on the server (${(err as Error).message}); removing it locally anyway.`,
      );
    }
  }
  await withFileLock(`${env.credentialsPath}.lock`, async () => {
    const latest = readCredentials(env.credentialsPath, env.warn);
    delete latest.identities[name];
    if (latest.currentIdentity === name) latest.currentIdentity = Object.keys(latest.identities)[0];
    writeCredentials(env.credentialsPath, latest);
  });
  io.err(`✓ Signed out of ${identity.server} (context "${name}" removed).`);
}
