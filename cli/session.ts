/**
 * The current sign-in of a context: its access token, renewed with the refresh token when it is
 * within 2 minutes of expiry. Renewal happens under a file lock and re-reads the file inside it:
 * if another process rotated the refresh token meanwhile, its result is used as is, so one
 * refresh token is never presented twice (which the server would treat as theft).
 */
import { CliError, ExitCode } from './errors.ts';
import { readCredentials, selectIdentity, writeCredentials, type Identity } from './credentials.ts';
import { withFileLock } from './file-lock.ts';
import { discover, refresh, type Endpoints } from './oauth.ts';

export const RENEW_WITHIN_MS = 2 * 60_000;

export interface CliEnv {
  credentialsPath: string;
  context?: string;
  warn(message: string): void;
}

export interface Current {
  identity: Identity;
  accessToken: string;
  expiresAt?: Date;
}

const expiresAt = (i: Identity) => (i.oauth?.expiresAt ? new Date(i.oauth.expiresAt) : undefined);
const fresh = (i: Identity, marginMs: number) =>
  !!i.token && (!expiresAt(i) || expiresAt(i)!.getTime() - Date.now() > marginMs);

export function requireIdentity(env: CliEnv): Identity {
  const file = readCredentials(env.credentialsPath, env.warn);
  const identity = selectIdentity(file, env.context);
  if (identity) return identity;
  if (env.context)
    throw new CliError(
      `No context named "${env.context}" in ${env.credentialsPath}.`,
      ExitCode.notSignedIn,
      'Run `keyward auth login` to sign in.',
    );
  throw new CliError(
    'You are not signed in (no credentials found).',
    ExitCode.notSignedIn,
    `Run \`keyward auth login --server <url>\` to sign in. Credentials are read from ${env.credentialsPath}.`,
  );
}

/** A usable access token for the selected context; `force` renews even a fresh one (after a 401). */
export async function currentToken(
  env: CliEnv,
  opts: { force?: boolean; endpoints?: Endpoints } = {},
): Promise<Current> {
  const seen = requireIdentity(env);
  if (seen.apikey) return { identity: seen, accessToken: seen.apikey };
  if (!opts.force && fresh(seen, RENEW_WITHIN_MS))
    return { identity: seen, accessToken: seen.token!, expiresAt: expiresAt(seen) };
  if (!seen.oauth?.refreshToken) {
    if (seen.token && fresh(seen, 0) && !opts.force)
      return { identity: seen, accessToken: seen.token, expiresAt: expiresAt(seen) };
    throw new CliError(
      `The sign-in for ${seen.server} has expired and cannot be renewed.`,
      ExitCode.notSignedIn,
      'Run `keyward auth login` to sign in again.',
    );
  }
  return withFileLock(`${env.credentialsPath}.lock`, async () => {
    const file = readCredentials(env.credentialsPath, env.warn);
    const key = env.context ?? file.currentIdentity;
    const identity = selectIdentity(file, env.context);
    if (!key || !identity?.oauth?.refreshToken)
      throw new CliError(
        'You were signed out while this command was running.',
        ExitCode.notSignedIn,
        'Run `keyward auth login` to sign in again.',
      );
    const rotatedByOther = identity.oauth.refreshToken !== seen.oauth!.refreshToken;
    if (rotatedByOther && fresh(identity, 10_000))
      return { identity, accessToken: identity.token!, expiresAt: expiresAt(identity) };
    if (!rotatedByOther && !opts.force && fresh(identity, RENEW_WITHIN_MS))
      return { identity, accessToken: identity.token!, expiresAt: expiresAt(identity) };
    const ep = opts.endpoints ?? (await discover(identity.server));
    const tokens = await refresh(ep, identity.oauth.refreshToken, identity.server);
    const at = new Date(Date.now() + tokens.expires_in * 1000);
    const updated: Identity = {
      ...identity,
      token: tokens.access_token,
      oauth: {
        ...identity.oauth,
        expiresAt: at.toISOString(),
        refreshToken: tokens.refresh_token ?? identity.oauth.refreshToken,
      },
    };
    file.identities[key] = updated;
    writeCredentials(env.credentialsPath, file);
    return { identity: updated, accessToken: tokens.access_token, expiresAt: at };
  });
}
