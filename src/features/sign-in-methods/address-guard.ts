/**
 * SSRF guard for the calls Keyward makes on an organization's behalf (OIDC discovery, token,
 * JWKS and userinfo requests; LDAP connections): a host that resolves to a private, loopback,
 * link-local or otherwise non-public address is refused unless the method has
 * `allowPrivateAddress` (set only by a platform admin). The check runs on the address actually
 * connected to (a `lookup` hook, or a connection to the checked IP), so a name that resolves
 * differently the second time (DNS rebinding) gains nothing.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP } from 'node:net';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { AppError } from '../../platform/errors/app-error.ts';

const blocked = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const)
  blocked.addSubnet(net, bits, 'ipv4');
for (const [net, bits] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
  ['2001:db8::', 32],
  ['64:ff9b::', 96],
] as const) {
  blocked.addSubnet(net, bits, 'ipv6');
}

export function isPrivateAddress(address: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return blocked.check(mapped[1], 'ipv4');
  const family = isIP(address);
  if (family === 0) return true;
  return blocked.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

const refused = (host: string) =>
  new AppError(
    'validation_failed',
    `${host} is a private or local address; only a platform admin can allow that for a sign-in method (allowPrivateAddress).`,
  );

/** Resolves `host` to one address Keyward may connect to, or refuses. */
export async function resolvePermitted(host: string, allowPrivate: boolean): Promise<string> {
  const bare = host.replace(/^\[|\]$/g, '');
  const addresses: LookupAddress[] = isIP(bare)
    ? [{ address: bare, family: isIP(bare) }]
    : await new Promise((resolve, reject) =>
        dnsLookup(bare, { all: true }, (err, a) =>
          err ? reject(new AppError('validation_failed', `Cannot resolve ${bare}.`)) : resolve(a),
        ),
      );
  if (!allowPrivate && addresses.some((a) => isPrivateAddress(a.address))) throw refused(bare);
  return addresses[0].address;
}

type Lookup = (
  hostname: string,
  options: object,
  cb: (err: Error | null, address: string | LookupAddress[], family?: number) => void,
) => void;

/** A `lookup` for http(s).request that refuses private addresses. */
function guardedLookup(allowPrivate: boolean): Lookup {
  return (hostname, options, cb) => {
    resolvePermitted(hostname, allowPrivate).then(
      (address) =>
        (options as { all?: boolean }).all
          ? cb(null, [{ address, family: isIP(address) }])
          : cb(null, address, isIP(address)),
      (err: Error) => cb(err, ''),
    );
  };
}

/**
 * A fetch for openid-client (its `customFetch`): plain node http(s) with the guarded lookup, no
 * redirects followed, a 10 s timeout and a 1 MiB answer limit. http:// is allowed only with
 * `allowPrivateAddress` (a test or lab network); public IdPs are reached over https.
 */
export function guardedFetch(allowPrivate: boolean) {
  return async (
    url: string,
    init: { method?: string; headers?: HeadersInit; body?: unknown; signal?: AbortSignal | null },
  ): Promise<Response> => {
    const target = new URL(url);
    if (target.protocol !== 'https:' && !(target.protocol === 'http:' && allowPrivate)) {
      throw new AppError('validation_failed', `${target.origin} must use https.`);
    }
    if (isIP(target.hostname.replace(/^\[|\]$/g, '')))
      await resolvePermitted(target.hostname, allowPrivate);
    const headers = Object.fromEntries(new Headers(init.headers).entries());
    const body =
      init.body === undefined || init.body === null
        ? undefined
        : typeof init.body === 'string'
          ? init.body
          : String(init.body);
    const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = send(
        target,
        {
          method: init.method ?? 'GET',
          headers,
          lookup: guardedLookup(allowPrivate) as never,
          timeout: 10_000,
          signal: init.signal ?? undefined,
        },
        resolve,
      );
      req.on('timeout', () =>
        req.destroy(new AppError('unavailable', `${target.origin} did not answer in time.`)),
      );
      req.on('error', reject);
      req.end(body);
    });
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of res) {
      size += (chunk as Buffer).length;
      if (size > 1 << 20) {
        res.destroy();
        throw new AppError('unavailable', `${target.origin} sent too large an answer.`);
      }
      chunks.push(chunk as Buffer);
    }
    const out = new Headers();
    for (const [k, v] of Object.entries(res.headers))
      if (v !== undefined) for (const x of [v].flat()) out.append(k, x);
    const status = res.statusCode ?? 502;
    return new Response([101, 204, 205, 304].includes(status) ? null : Buffer.concat(chunks), {
      status,
      headers: out,
    });
  };
}
