import type { ClientMetadata } from 'oidc-provider';
import type { ClientConfig } from '../config/schema.ts';

/** Extra client metadata Keyward understands (declared to oidc-provider as extraClientMetadata). */
export const FIRST_PARTY = 'keyward_first_party';
export const RESOURCE_SERVER = 'keyward_resource_server';
export const DEFAULT_RESOURCE = 'keyward_default_resource';

const metadataOf = new WeakMap<object, Record<string, unknown>>();
/**
 * One of Keyward's metadata properties of a client. The provider's `client.metadata()` builds a
 * new snake_case copy of every property on each call (a sixth of an introspection's CPU time when
 * called per request); a client instance's metadata never changes, so it is built once per instance.
 */
export function clientProperty(
  client: { metadata(): Record<string, unknown> },
  key: string,
): unknown {
  let metadata = metadataOf.get(client);
  if (!metadata) {
    metadata = client.metadata();
    metadataOf.set(client, metadata);
  }
  return metadata[key];
}

/** Maps clients declared in configuration to oidc-provider client metadata. */
export function toClientMetadata(clients: ClientConfig[]): ClientMetadata[] {
  return clients.map(
    ({ firstParty, resourceServer, defaultResource, ...c }) =>
      ({
        ...c,
        response_types:
          c.response_types ??
          (c.grant_types?.includes('authorization_code') === false ? [] : ['code']),
        ...(c.token_endpoint_auth_method
          ? {}
          : { token_endpoint_auth_method: 'client_secret_basic' }),
        [FIRST_PARTY]: firstParty,
        [RESOURCE_SERVER]: resourceServer,
        ...(defaultResource ? { [DEFAULT_RESOURCE]: defaultResource } : {}),
      }) as ClientMetadata,
  );
}

/** Keyward's own home page signs in as this built-in public client. */
export const CONSOLE_CLIENT_ID = 'keyward-console';

export function consoleClient(baseUrl: string): ClientMetadata {
  return {
    client_id: CONSOLE_CLIENT_ID,
    client_name: 'Keyward',
    token_endpoint_auth_method: 'none',
    redirect_uris: [`${baseUrl}/signin/callback`],
    post_logout_redirect_uris: [`${baseUrl}/`],
    grant_types: ['authorization_code'],
    response_types: ['code'],
    [FIRST_PARTY]: true,
  };
}
