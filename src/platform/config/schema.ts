import { z } from 'zod';

const bool = z.preprocess(
  (v) => {
    if (typeof v !== 'string') return v;
    const s = v.trim().toLowerCase();
    if (['true', '1', 'yes'].includes(s)) return true;
    if (['false', '0', 'no', ''].includes(s)) return false;
    return v;
  },
  z.boolean({ error: 'must be true or false' }),
);

/** Reverse proxies the operator vouches for (KEYWARD_TRUST_PROXY): false/0 none, true one, or a count. */
export const MAX_TRUSTED_PROXIES = 10;
const PROXY_HOPS_ERROR = `must be false (no proxy), true (one proxy) or the number of trusted proxies in front of Keyward, 0 to ${MAX_TRUSTED_PROXIES}`;
const proxyHops = z.preprocess(
  (v) => {
    if (typeof v === 'boolean') return v ? 1 : 0;
    if (typeof v !== 'string') return v;
    const s = v.trim().toLowerCase();
    if (['false', 'no', ''].includes(s)) return 0;
    if (['true', 'yes'].includes(s)) return 1;
    return /^\d+$/.test(s) ? Number(s) : v;
  },
  z.number({ error: PROXY_HOPS_ERROR }).int().min(0).max(MAX_TRUSTED_PROXIES),
);

const int = (min: number, max: number) =>
  z.preprocess(
    (v) => (typeof v === 'string' && /^-?\d+$/.test(v.trim()) ? Number(v) : v),
    z
      .number({ error: `must be an integer between ${min} and ${max}` })
      .int()
      .min(min)
      .max(max),
  );

const throttleRule = z.object({
  freeAttempts: int(0, 1000),
  baseDelaySeconds: int(0, 3600),
  maxDelaySeconds: int(0, 86400),
  maxConsecutiveFailures: int(1, 100000),
  lockSeconds: int(1, 86400 * 7),
  resetAfterSeconds: int(1, 86400 * 30),
});

/** How a configured OAuth client authenticates (RFC 6749 §2.3.1; `none` for public clients). */
export const CLIENT_AUTH_METHODS = ['client_secret_basic', 'client_secret_post', 'none'] as const;

export const clientSchema = z
  .object({
    client_id: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,128}$/, 'client_id: letters, digits, dot, dash, underscore'),
    client_name: z.string().min(1).max(128).optional(),
    client_secret: z.string().min(1).optional(),
    token_endpoint_auth_method: z.enum(CLIENT_AUTH_METHODS).optional(),
    application_type: z.enum(['web', 'native']).optional(),
    redirect_uris: z.array(z.url()).default([]),
    post_logout_redirect_uris: z.array(z.url()).optional(),
    grant_types: z.array(z.string()).optional(),
    response_types: z.array(z.string()).optional(),
    scope: z.string().optional(),
    /** First-party clients skip the consent screen. */
    firstParty: z.boolean().default(false),
    /** Resource servers may introspect any token. */
    resourceServer: z.boolean().default(false),
    /** The API (an `apiResources` identifier) this client's tokens are for when it names none (RFC 8707). */
    defaultResource: z.url().optional(),
  })
  .refine((c) => c.token_endpoint_auth_method === 'none' || !!c.client_secret, {
    message: 'a confidential client needs client_secret (or token_endpoint_auth_method "none")',
  });
export type ClientConfig = z.infer<typeof clientSchema>;

/** An API that accepts Keyward's access tokens (RFC 8707), and the token format it wants (see platform/oidc/api-resources.ts). */
export const apiResourceSchema = z.object({
  identifier: z.url({ error: "must be the API's absolute URL (it becomes the token's aud)" }),
  scope: z.string().min(1, 'must list the scopes the API understands, space-separated'),
  accessTokenFormat: z
    .enum(['jwt', 'opaque'], { error: 'must be jwt or opaque' })
    .default('opaque'),
  accessTokenSeconds: z.number().int().min(60).max(86400).optional(),
});
export type ApiResourceConfig = z.infer<typeof apiResourceSchema>;

const encryptionKeys = z.string().transform((value, ctx) => {
  // "v2=BASE64,v1=BASE64" (first is active) or a single BASE64 value (version "1").
  const keys: { version: string; key: Buffer }[] = [];
  for (const part of value
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const m = /^([A-Za-z0-9._-]{1,32})=([A-Za-z0-9+/_-]+={0,2})$/.exec(part);
    const [version, b64] = m ? [m[1], m[2]] : ['1', part];
    const key = Buffer.from(b64, 'base64');
    if (key.length !== 32) {
      ctx.addIssue({
        code: 'custom',
        message: 'must be a 32-byte base64 key, or a list "v2=KEY,v1=KEY" (active first)',
      });
      return z.NEVER;
    }
    keys.push({ version, key });
  }
  if (keys.length === 0) {
    ctx.addIssue({ code: 'custom', message: 'must not be empty' });
    return z.NEVER;
  }
  return keys;
});

export const configSchema = z.object({
  env: z.enum(['development', 'production', 'test'], {
    error: 'must be development, production or test',
  }),
  host: z.string().min(1),
  port: int(0, 65535),
  publicUrl: z
    .url({ error: 'must be an absolute http(s) URL' })
    .refine((u) => /^https?:\/\//.test(u), 'must use http or https')
    .optional(),
  /**
   * How many reverse proxies in front of Keyward append to X-Forwarded-For (0: none, headers ignored).
   * The client address is the entry that many places from the right; entries further left are the client's own.
   */
  trustProxy: proxyHops,
  mongodbUri: z
    .string()
    .regex(/^mongodb(\+srv)?:\/\//, 'must start with mongodb:// or mongodb+srv://')
    .optional(),
  dataDir: z.string().min(1),
  /** The FerretDB binary of the embedded database's fallback (default ~/.cache/keyward/ferretdb-v1.24.2). */
  ferretdbBin: z.string().min(1).optional(),
  cookieKeys: z
    .preprocess(
      (v) =>
        typeof v === 'string'
          ? v
              .split(',')
              .map((s) => s.trim())
              .filter(Boolean)
          : v,
      z.array(z.string().min(1)).min(1),
    )
    .optional(),
  encryptionKeys: encryptionKeys.optional(),
  logLevel: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']),
  /** Access-log lines (at info): every request, only those answered 4xx/5xx, or none. */
  accessLog: z
    .enum(['all', 'errors', 'off'], { error: 'must be all, errors or off' })
    .default('all'),
  bodyLimitBytes: int(1024, 10 * 1024 * 1024),
  shutdownGraceMs: int(0, 120000),
  password: z.object({ minLength: int(8, 128), maxLength: int(64, 4096) }),
  argon2: z.object({ memoryKiB: int(7168, 1048576), passes: int(1, 10), parallelism: int(1, 16) }),
  ttl: z.object({
    interactionSeconds: int(1, 86400),
    sessionSeconds: int(60, 86400 * 365),
    grantSeconds: int(60, 86400 * 365),
    authorizationCodeSeconds: int(1, 600),
    accessTokenSeconds: int(1, 86400),
    idTokenSeconds: int(1, 86400),
    refreshTokenSeconds: int(60, 86400 * 365),
    /** Lifetime of a device flow request and its user code (RFC 8628). */
    deviceCodeSeconds: int(60, 1800),
    clientCredentialsSeconds: int(60, 86400),
  }),
  throttle: z.object({ account: throttleRule, ip: throttleRule, mfa: throttleRule }),
  mfa: z.object({
    /** Issuer shown in authenticator apps. */
    issuerName: z.string().min(1).max(64),
    /** AAGUIDs of FIPS-certified authenticators accepted under enforce-webauthn-mfa = "fips". */
    fipsAaguids: z.array(
      z
        .string()
        .regex(/^[0-9a-fA-F-]{36}$/, 'must be AAGUIDs like 00000000-0000-0000-0000-000000000000'),
    ),
    /** How long a re-verification (second factor, or password without MFA) allows sensitive changes. */
    sudoWindowSeconds: int(60, 86400),
  }),
  /** OAuth device flow (RFC 8628) for the CLI: polling interval and limits on wrong user-code entries. */
  deviceFlow: z.object({
    intervalSeconds: int(1, 60),
    throttle: z.object({ ip: throttleRule, account: throttleRule }),
  }),
  sweepIntervalSeconds: int(1, 86400),
  /**
   * Worker processes behind one port (node:cluster; features/workers/primary.ts). 1: Keyward runs in
   * this one process. Each worker is a complete Keyward on the same database, as replicas are.
   */
  workers: int(1, 64).default(1),
  /** Whether this process deletes expired rows periodically (with several replicas or workers, one is enough). */
  sweeps: bool.default(true),
  apiResources: z.array(apiResourceSchema).default([]),
  /**
   * How long accounts, memberships, organizations, policies and 2-step factors are kept in memory
   * (directory-cache.ts): every write ends them at once here and within a revocation poll elsewhere.
   * 0 reads the database every time.
   */
  directoryCacheMs: int(0, 3_600_000).default(60_000),
  /**
   * How long issued access and client-credentials tokens are kept in memory, so introspecting one
   * costs no database read (token-payload-cache.ts): a revocation ends them at once here and within a
   * revocation poll elsewhere. 0 reads the database every time.
   */
  tokenCacheMs: int(0, 3_600_000).default(60_000),
  /** SSH keys (issue 6): who may read users' authorized_keys lines (sshd's AuthorizedKeysCommand on clusters). */
  sshKeys: z
    .object({
      /** Serve GET /api/users/{username}/ssh-public-keys without a credential, as GitHub does. */
      authorizedKeysPublic: bool,
      /** Cluster shared secret, sent as `Authorization: Bearer <secret>` by scripts/authorized-keys-command. */
      authorizedKeysSecret: z
        .string()
        .min(16, 'must be at least 16 characters (32+ random characters in production)')
        .optional(),
    })
    .default({ authorizedKeysPublic: false }),
  /** API keys and CLI tokens (issue 4). */
  credentials: z
    .object({
      /** On enforce-mfa, suspend (not only flag) credentials made without a second factor by members who have none. */
      suspendOnEnforceMfa: bool,
      /** lastUsedAt is written at most once per this many seconds per credential. */
      lastUsedWriteSeconds: int(0, 3600),
      /** Lifetime of tokens issued by token exchange (also capped by the subject credential's expiry). */
      exchangeTokenSeconds: int(60, 3600),
      /** Leaked-credential revocation endpoint: requests per IP before progressive delays, and the quiet window that resets the count. */
      revokeFreeRequests: int(1, 10000),
      revokeWindowSeconds: int(1, 86400),
      /** Remember successful verifications in memory at most this long (0: off; see revocable-cache.ts). */
      verifyCacheMs: int(0, 600000),
      /** How often each process checks for revocations made by other processes (the cross-process delay). */
      revocationPollMs: int(50, 5000),
    })
    .default({
      suspendOnEnforceMfa: true,
      lastUsedWriteSeconds: 60,
      exchangeTokenSeconds: 300,
      revokeFreeRequests: 30,
      revokeWindowSeconds: 60,
      verifyCacheMs: 60000,
      revocationPollMs: 250,
    }),
  /** SSH certificate authority (issue 7): the first CA key's algorithm, clock-skew allowance, principals never certified. */
  sshCertificates: z
    .object({
      caAlgorithm: z.enum(['ed25519', 'ecdsa-p256', 'ecdsa-p384', 'ecdsa-p521'], {
        error: 'must be ed25519, ecdsa-p256, ecdsa-p384 or ecdsa-p521',
      }),
      /** valid-after is set this many seconds in the past. */
      clockSkewSeconds: int(0, 3600),
      reservedPrincipals: z.array(z.string().min(1).max(64)),
    })
    .default({ caAlgorithm: 'ed25519', clockSkewSeconds: 300, reservedPrincipals: ['root'] }),
  clients: z.preprocess(
    (v) => {
      if (typeof v !== 'string') return v;
      try {
        return JSON.parse(v);
      } catch {
        return v;
      }
    },
    z.array(clientSchema, { error: 'must be a JSON array of client objects' }),
  ),
  initialAdmin: z
    .object({
      username: z.string().min(1),
      email: z.email({ error: 'must be an email address' }),
      password: z.string().min(1),
      organization: z.string().min(1).default('default'),
    })
    .optional(),
});

export type Config = z.infer<typeof configSchema> & {
  /** Public base URL, no trailing slash (e.g. https://id.example.com). */
  baseUrl: string;
  /** OIDC issuer: `${baseUrl}/api/oidc`. */
  issuer: string;
};
