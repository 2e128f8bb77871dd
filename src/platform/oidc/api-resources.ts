/**
 * APIs that accept Keyward's access tokens (RFC 8707 resource indicators), each with the token
 * format it wants: `jwt` — RFC 9068 signed access tokens the API validates itself against the
 * JWKS, which are never stored (a client_credentials grant writes nothing) and end only when they
 * expire; or `opaque` — stored, introspected (RFC 7662) and revocable at once. A client asks with
 * `resource=<identifier>`, or gets its configured `defaultResource`; without either a token is
 * for Keyward itself (userinfo, Keyward's API), opaque, as before.
 */
import { errors, type Configuration } from 'oidc-provider';
import type { ApiResourceConfig } from '../config/schema.ts';
import { DEFAULT_RESOURCE, clientProperty } from './clients.ts';

type ResourceIndicators = NonNullable<NonNullable<Configuration['features']>['resourceIndicators']>;

export function resourceIndicators(resources: ApiResourceConfig[]): ResourceIndicators {
  const byIdentifier = new Map(resources.map((r) => [r.identifier, r]));
  return {
    enabled: true,
    defaultResource(_ctx, client) {
      const resource = clientProperty(client, DEFAULT_RESOURCE);
      return typeof resource === 'string' ? resource : undefined;
    },
    getResourceServerInfo(_ctx, identifier) {
      const r = byIdentifier.get(identifier);
      if (!r)
        throw new errors.InvalidTarget(
          `unknown resource "${identifier}": Keyward issues tokens for the APIs in its apiResources configuration`,
        );
      return {
        scope: r.scope,
        audience: r.identifier,
        accessTokenFormat: r.accessTokenFormat,
        ...(r.accessTokenSeconds ? { accessTokenTTL: r.accessTokenSeconds } : {}),
        ...(r.accessTokenFormat === 'jwt' ? { jwt: { sign: { alg: 'ES256' } } } : {}),
      };
    },
  };
}
