/**
 * The REST shapes of an organization's sign-in methods (contract §4 "Auth methods", the `Oidc`
 * schema; `Ldap` follows the same conventions). Secret fields are write-only: they are accepted
 * here and never appear in an output schema, so the registry strips them from every answer.
 */
import { z } from 'zod';

export const METHOD_NAME = /^[a-z0-9-]+$/;
const name = z
  .string()
  .min(1)
  .max(63)
  .regex(METHOD_NAME, 'must be lowercase letters, digits or dashes');
const optionalText = (max: number) => z.string().max(max).optional();
const endpoint = z
  .string()
  .max(2000)
  .refine((v) => v === '' || /^https?:\/\//.test(v), 'must be an http(s) URL')
  .optional();
const claim = z
  .string()
  .max(100)
  .regex(/^[A-Za-z0-9_.:-]*$/, 'must be a claim name')
  .optional();

export const authMethodOut = z.object({
  id: z.string(),
  type: z.enum(['password', 'oidc', 'ldap']),
  name: z.string(),
  displayName: z.string().optional(),
});

export const TOKEN_AUTH_METHODS = [
  'client_secret_basic',
  'client_secret_post',
  'private_key_jwt',
] as const;

/** What an admin sends for an OIDC method (all of `Oidc` but the read-only fields). */
export const oidcFields = {
  name,
  displayName: optionalText(100),
  clientId: z.string().min(1).max(500),
  clientSecret: optionalText(4096),
  privateKeyPEM: optionalText(16384),
  scopes: z.string().max(1000),
  discoverEndpoints: z.boolean().nullable(),
  issuer: endpoint,
  authorizationEndpoint: endpoint,
  tokenEndpoint: endpoint,
  userinfoEndpoint: endpoint,
  jwksUri: endpoint,
  endSessionEndpoint: endpoint,
  tokenEndpointAuthMethod: z.enum(TOKEN_AUTH_METHODS),
  skipMfaVerification: z.boolean().optional(),
  allowNewUserCreation: z.boolean().nullable().optional(),
  titleCase: z.boolean().nullable().optional(),
  allowPrivateAddress: z.boolean().optional(),
  usernameClaim: claim,
  emailClaim: claim,
  externalIdClaim: claim,
  uidClaim: claim,
  sectorIdentifierHostnames: z
    .array(
      z
        .string()
        .max(253)
        .regex(/^[A-Za-z0-9.-]+$/, 'must be a host name'),
    )
    .max(50)
    .optional(),
};
export const oidcInput = z.object(oidcFields);
export const oidcPatch = z.object(oidcFields).partial();
export type OidcInput = z.infer<typeof oidcInput>;

const { clientSecret: _s, privateKeyPEM: _p, ...oidcPublic } = oidcFields;
export const oidcOut = z.object({ ...oidcPublic, id: z.string(), type: z.literal('oidc') });

/** An LDAP directory: a service bind to search for the user, then a bind as the user to check the password. */
export const ldapFields = {
  name,
  displayName: optionalText(100),
  url: z
    .string()
    .max(2000)
    .regex(/^ldaps?:\/\/[^/\s]+\/?$/, 'must be ldap://host[:port] or ldaps://host[:port]'),
  startTLS: z.boolean().optional(),
  caCertificate: optionalText(65536),
  bindDN: z.string().max(1000).optional(),
  bindPassword: optionalText(4096),
  baseDN: z.string().min(1).max(1000),
  userFilter: z
    .string()
    .max(1000)
    .refine((v) => v.includes('{username}'), 'must contain {username}')
    .optional(),
  usernameAttribute: claim,
  emailAttribute: claim,
  externalIdAttribute: claim,
  displayNameAttribute: claim,
  allowNewUserCreation: z.boolean().nullable().optional(),
  titleCase: z.boolean().nullable().optional(),
  allowPrivateAddress: z.boolean().optional(),
};
export const ldapInput = z.object(ldapFields);
export const ldapPatch = z.object(ldapFields).partial();
export type LdapInput = z.infer<typeof ldapInput>;

const { bindPassword: _b, ...ldapPublic } = ldapFields;
export const ldapOut = z.object({ ...ldapPublic, id: z.string(), type: z.literal('ldap') });

/** Optionally, a user to look up and sign in as, to prove the whole path works. */
const testUser = {
  username: z.string().max(320).optional(),
  password: z.string().max(4096).optional(),
};
export const ldapConnectionTest = z.object({ ...ldapFields, name: name.optional(), ...testUser });
export const ldapSavedConnectionTest = z.object(testUser);

export const externalIdentityOut = z.object({
  method: z.string(),
  methodType: z.enum(['oidc', 'ldap']),
  externalId: z.string(),
  createdAt: z.date(),
});
export const externalIdentityIn = z.object({
  method: name,
  externalId: z.string().min(1).max(500),
});
