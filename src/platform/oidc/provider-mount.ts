/** Where the app mounts oidc-provider: the issuer's path, and the prefix of every OIDC endpoint. */
export const PROVIDER_MOUNT = '/api/oidc';
