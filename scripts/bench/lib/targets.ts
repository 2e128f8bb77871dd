/** What every measured identity provider offers the workloads: its endpoints, clients and users. */

export const BENCH_PASSWORD = 'load-test passphrase that is long enough';
export const CALLBACK = 'http://127.0.0.1/bench-callback';

export interface ClientCredentials {
  id: string;
  secret: string;
}

export interface IdpTarget {
  name: string;
  pid: number;
  baseUrl: string;
  tokenUrl: string;
  introspectionUrl: string;
  authorizeUrl: string;
  clients: {
    /** client_credentials client. */
    cc: ClientCredentials;
    /** Resource server that introspects the cc client's tokens. */
    rs: ClientCredentials;
    /** Confidential web client: authorization code with PKCE (S256). */
    web: ClientCredentials;
  };
  /** Users that can sign in with BENCH_PASSWORD. */
  users: string[];
  /** Authenticated REST request (Keyward: an API key on GET /api/auth/whoami); absent when the product has none. */
  rest?: { url: string; authorization: string };
  /** Milliseconds from spawn to ready. */
  startMs: number;
  memory(): { rss: number; peak: number };
  stop(): Promise<void>;
}

export const basicAuth = (c: ClientCredentials) =>
  `Basic ${Buffer.from(`${encodeURIComponent(c.id)}:${encodeURIComponent(c.secret)}`).toString('base64')}`;

/** One client_credentials access token (throws when the grant fails). */
export async function clientCredentialsToken(t: IdpTarget): Promise<string> {
  const res = await fetch(t.tokenUrl, {
    method: 'POST',
    headers: {
      authorization: basicAuth(t.clients.cc),
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: 'grant_type=client_credentials',
  });
  const body = (await res.json()) as { access_token?: string };
  if (!body.access_token)
    throw new Error(`${t.name}: client_credentials answered ${res.status} ${JSON.stringify(body)}`);
  return body.access_token;
}

/** Introspects `token` as the resource server; answers the `active` flag. */
export async function introspect(t: IdpTarget, token: string): Promise<boolean> {
  const res = await fetch(t.introspectionUrl, {
    method: 'POST',
    headers: {
      authorization: basicAuth(t.clients.rs),
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({ token }),
  });
  const body = (await res.json()) as { active?: boolean };
  return body.active === true;
}
