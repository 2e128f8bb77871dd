/**
 * Calls to Keyward's REST API (contract §2): with $KEYWARD_API_KEY when set (an API key is sent
 * as Basic "<key>:", any other credential as Bearer), otherwise with the signed-in context's
 * access token, renewed and retried once if the server no longer accepts it.
 */
import { CliError, ExitCode } from './errors.ts';
import { errorMessage, jsonOf, normalizeServer, send } from './http.ts';
import { currentToken, type CliEnv } from './session.ts';

export interface ApiEnv extends CliEnv {
  apiKey?: string;
  server?: string;
}

/** The host inside `pwt_<base64url(host)>.<secret>` / `pwut_…` (contract §5.1), with https:// unless it names a scheme. */
export function hostOfCredential(credential: string): string | undefined {
  const m = /^pwu?t_([A-Za-z0-9_+/-]+={0,2})\./.exec(credential);
  if (!m) return undefined;
  const host = Buffer.from(
    m[1].replace(/=+$/, ''),
    m[1].includes('+') || m[1].includes('/') ? 'base64' : 'base64url',
  ).toString('utf8');
  return host && /^[\x21-\x7e]+$/.test(host) ? normalizeServer(host) : undefined;
}

function authorizationFor(credential: string): string {
  return credential.startsWith('pwt_')
    ? `Basic ${Buffer.from(`${credential}:`).toString('base64')}`
    : `Bearer ${credential}`;
}

export interface ApiResult<T> {
  status: number;
  body: T;
}

export async function callApi<T>(
  env: ApiEnv,
  method: string,
  path: string,
  body?: unknown,
): Promise<ApiResult<T>> {
  const init = (authorization: string): RequestInit => ({
    method,
    headers: {
      authorization,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });

  let server: string;
  let res: Response;
  if (env.apiKey) {
    const key = env.apiKey.trim();
    server = env.server ?? hostOfCredential(key) ?? '';
    if (!server)
      throw new CliError(
        'KEYWARD_API_KEY does not name its server; set KEYWARD_SERVER too.',
        ExitCode.usage,
      );
    res = await send(`${server}${path}`, init(authorizationFor(key)));
  } else {
    let current = await currentToken(env);
    server = current.identity.server;
    res = await send(`${server}${path}`, init(authorizationFor(current.accessToken)));
    if (res.status === 401 && !current.identity.apikey) {
      current = await currentToken(env, { force: true });
      res = await send(`${server}${path}`, init(authorizationFor(current.accessToken)));
    }
  }
  const parsed = res.status === 204 ? undefined : await jsonOf<unknown>(res);
  if (res.status >= 200 && res.status < 300) return { status: res.status, body: parsed as T };
  const message = errorMessage(parsed, res.status);
  if (res.status === 401)
    throw new CliError(
      `Not signed in to ${server}: ${message}`,
      ExitCode.notSignedIn,
      'Run `keyward auth login` to sign in again.',
    );
  if (res.status === 404 && /No route for/.test(message))
    throw new CliError(`${server} does not offer this yet (${method} ${path} is not available).`);
  throw new CliError(message);
}
