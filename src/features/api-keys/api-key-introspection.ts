/**
 * RFC 7662 introspection of API keys and CLI tokens at `/api/oidc/introspect`. oidc-provider
 * authenticates the calling client and parses the request as for its own tokens (every client
 * authentication method it supports), and answers `active: false` for a token it does not know;
 * this provider middleware then answers for a pwt_/pwut_ credential instead. Only authenticated
 * resource-server clients (`keyward_resource_server`) get `active: true`.
 */
import type Provider from 'oidc-provider';
import type { KoaContextWithOIDC } from 'oidc-provider';
import { kindOf } from './api-key-format.ts';
import type { PersonalCredentialService } from './api-key-service.ts';
import { RESOURCE_SERVER, clientProperty } from '../../platform/oidc/clients.ts';

/** The `client_id` reported for credentials that no OAuth client requested. */
export const CREDENTIAL_CLIENT_IDS = {
  apikey: 'keyward-apikey',
  token: 'keyward-cli-token',
} as const;
const SCOPE = 'openid profile email';

export function apiKeyIntrospection(deps: {
  credentials: PersonalCredentialService;
}): Parameters<Provider['use']>[0] {
  return async (koaCtx, next) => {
    await next();
    const ctx = koaCtx as unknown as KoaContextWithOIDC;
    if (
      ctx.oidc?.route !== 'introspection' ||
      (ctx.body as { active?: boolean } | undefined)?.active !== false
    )
      return;
    const token = ctx.oidc.params?.token;
    const kind = typeof token === 'string' ? kindOf(token.trim()) : undefined;
    const client = ctx.oidc.client;
    if (
      !kind ||
      !client ||
      client.clientAuthMethod === 'none' ||
      clientProperty(client, RESOURCE_SERVER) !== true
    )
      return;
    const found = await deps.credentials.lookup(token as string);
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
      iss: ctx.oidc.provider.issuer,
      token_type: 'Bearer',
      credential_type: kind,
    };
  };
}
