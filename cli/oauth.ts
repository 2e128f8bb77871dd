/**
 * The OAuth side of the CLI against Keyward's provider: discovery, the device flow (RFC 8628,
 * honouring `interval` and `slow_down`), refresh, revocation (RFC 7009) and userinfo.
 */
import { CliError, ExitCode } from './errors.ts';
import { errorMessage, jsonOf, postForm, send } from './http.ts';

export const CLIENT_ID = 'pw-cli';
export const SCOPE = 'openid profile email offline_access';
const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

export interface Endpoints {
  issuer: string;
  token_endpoint: string;
  device_authorization_endpoint: string;
  revocation_endpoint: string;
  userinfo_endpoint: string;
}

export interface DeviceStart {
  device_code: string;
  user_code: string;
  verification_uri: string;
  verification_uri_complete?: string;
  expires_in: number;
  interval?: number;
}

export interface TokenSet {
  access_token: string;
  token_type: string;
  expires_in: number;
  refresh_token?: string;
  id_token?: string;
  scope?: string;
}

export interface UserInfo {
  sub: string;
  preferred_username?: string;
  name?: string;
  email?: string;
}

interface OAuthError {
  error?: string;
  error_description?: string;
}

export async function discover(server: string): Promise<Endpoints> {
  const res = await send(`${server}/api/oidc/.well-known/openid-configuration`);
  if (res.status !== 200)
    throw new CliError(
      `${server} does not look like a Keyward server (discovery answered HTTP ${res.status}).`,
      ExitCode.unreachable,
    );
  const meta = await jsonOf<Partial<Endpoints>>(res);
  if (!meta.token_endpoint || !meta.device_authorization_endpoint) {
    throw new CliError(
      `${server} does not offer device sign-in (no device_authorization_endpoint in its OpenID configuration).`,
    );
  }
  return meta as Endpoints;
}

export async function startDeviceAuthorization(
  ep: Endpoints,
  deviceName: string | undefined,
): Promise<DeviceStart> {
  const res = await postForm(ep.device_authorization_endpoint, {
    client_id: CLIENT_ID,
    scope: SCOPE,
    device_name: deviceName,
  });
  const body = await jsonOf<DeviceStart & OAuthError>(res);
  if (res.status !== 200)
    throw new CliError(
      `The server refused to start a device sign-in: ${errorMessage(body, res.status)}`,
    );
  return body;
}

export interface PollHooks {
  sleep(ms: number): Promise<void>;
  now(): number;
  onSlowDown?(intervalSeconds: number): void;
}

/** Polls the token endpoint until the person approves or denies, or the code expires. */
export async function pollForTokens(
  ep: Endpoints,
  start: DeviceStart,
  hooks: PollHooks,
): Promise<TokenSet> {
  let interval = Math.max(1, start.interval ?? 5);
  const deadline = hooks.now() + start.expires_in * 1000;
  let networkFailures = 0;
  for (;;) {
    await hooks.sleep(interval * 1000);
    let res: Response;
    try {
      res = await postForm(ep.token_endpoint, {
        grant_type: DEVICE_GRANT,
        device_code: start.device_code,
        client_id: CLIENT_ID,
      });
    } catch (err) {
      // A brief network blip should not lose a sign-in in progress.
      if (
        err instanceof CliError &&
        err.exitCode === ExitCode.unreachable &&
        ++networkFailures < 4 &&
        hooks.now() < deadline
      )
        continue;
      throw err;
    }
    networkFailures = 0;
    const body = await jsonOf<TokenSet & OAuthError>(res);
    if (res.status === 200 && body.access_token) return body;
    switch (body.error) {
      case 'authorization_pending':
        break;
      case 'slow_down':
        interval += 5;
        hooks.onSlowDown?.(interval);
        break;
      case 'access_denied':
        throw new CliError(
          `Sign-in was denied${body.error_description && !/aborted/i.test(body.error_description) ? `: ${body.error_description}` : ' in the browser.'}`,
          ExitCode.denied,
        );
      case 'expired_token':
        throw new CliError(
          'The code expired before the sign-in was approved.',
          ExitCode.expired,
          'Run `keyward auth login` again to get a new code.',
        );
      default:
        throw new CliError(`Sign-in failed: ${errorMessage(body, res.status)}`);
    }
    if (hooks.now() >= deadline)
      throw new CliError(
        'The code expired before the sign-in was approved.',
        ExitCode.expired,
        'Run `keyward auth login` again to get a new code.',
      );
  }
}

/** Rotates the refresh token. A refused one means this device was signed out. */
export async function refresh(
  ep: Endpoints,
  refreshToken: string,
  server: string,
): Promise<TokenSet> {
  const res = await postForm(ep.token_endpoint, {
    grant_type: 'refresh_token',
    refresh_token: refreshToken,
    client_id: CLIENT_ID,
  });
  const body = await jsonOf<TokenSet & OAuthError>(res);
  if (res.status === 200 && body.access_token) return body;
  if (body.error === 'invalid_grant') {
    throw new CliError(
      `This device has been signed out of ${server} (the sign-in was revoked or has expired).`,
      ExitCode.notSignedIn,
      'Run `keyward auth login` to sign in again.',
    );
  }
  throw new CliError(`Could not renew the sign-in: ${errorMessage(body, res.status)}`);
}

export async function revoke(
  ep: Endpoints,
  token: string,
  hint: 'refresh_token' | 'access_token',
): Promise<void> {
  const res = await postForm(ep.revocation_endpoint, {
    token,
    token_type_hint: hint,
    client_id: CLIENT_ID,
  });
  if (res.status !== 200)
    throw new CliError(
      `The server refused to revoke the sign-in: ${errorMessage(await jsonOf(res).catch(() => ({})), res.status)}`,
    );
}

/** The signed-in user, or undefined when the access token is no longer accepted. */
export async function userinfo(ep: Endpoints, accessToken: string): Promise<UserInfo | undefined> {
  const res = await send(ep.userinfo_endpoint, {
    headers: { authorization: `Bearer ${accessToken}` },
  });
  if (res.status === 401) return undefined;
  const body = await jsonOf<UserInfo & OAuthError>(res);
  if (res.status !== 200)
    throw new CliError(`Could not read the signed-in user: ${errorMessage(body, res.status)}`);
  return body;
}
