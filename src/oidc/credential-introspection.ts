/**
 * RFC 7662 introspection of API keys and CLI tokens at `/api/oidc/introspect`. oidc-provider only
 * knows its own tokens, so this middleware sits in front of it: for a `token` with the pwt_/pwut_
 * prefix it authenticates the calling client itself and answers; every other request (and every
 * other token) goes to the provider untouched (the body is peeked, not consumed).
 * Only authenticated resource-server clients (`keyward_resource_server`) get `active: true`.
 */
import type { Middleware } from 'koa';
import type Provider from 'oidc-provider';
import { kindOf } from '../services/credential-format.ts';
import type { PersonalCredentialService } from '../services/personal-credential-service.ts';
import { peekForm } from '../http/middleware/body-peek.ts';
import { RESOURCE_SERVER, clientProperty } from './clients.ts';
import { authenticateClient, OAuthError, sendOAuthError } from './client-authentication.ts';

/** The `client_id` reported for credentials that no OAuth client requested. */
export const CREDENTIAL_CLIENT_IDS = { apikey: 'keyward-apikey', token: 'keyward-cli-token' } as const;
const SCOPE = 'openid profile email';

export function credentialIntrospection(deps: { provider: Provider; credentials: PersonalCredentialService; mountPath: string }): Middleware {
  const { provider, credentials } = deps;
  const path = `${deps.mountPath}/introspect`;
  return async (ctx, next) => {
    if (ctx.path !== path || ctx.method !== 'POST') return next();
    const params = await peekForm(ctx);
    const token = params?.get('token');
    const kind = token ? kindOf(token.trim()) : undefined;
    if (!params || !token || !kind) return next();

    try {
      for (const name of ['token', 'client_id', 'client_secret']) {
        if (params.getAll(name).length > 1) throw new OAuthError(400, 'invalid_request', `'${name}' parameter must not be provided twice`);
      }
      const client = await authenticateClient(provider, ctx, params);
      ctx.set('Cache-Control', 'no-store');
      ctx.body = { active: false };
      if (client.clientAuthMethod === 'none' || clientProperty(client, RESOURCE_SERVER) !== true) return;
      const found = await credentials.lookup(token);
      if ('problem' in found) return;
      const { credential, account } = found;
      ctx.body = {
        active: true,
        sub: account.id,
        username: account.username,
        client_id: CREDENTIAL_CLIENT_IDS[kind],
        scope: SCOPE,
        iat: Math.floor(credential.createdAt.getTime() / 1000),
        ...(credential.expiresAt ? { exp: Math.floor(credential.expiresAt.getTime() / 1000) } : {}),
        iss: provider.issuer,
        token_type: 'Bearer',
        credential_type: kind,
      };
    } catch (err) {
      if (!(err instanceof OAuthError)) throw err;
      sendOAuthError(ctx, err, provider.issuer);
    }
  };
}
