/**
 * DPoP proofs (RFC 9449) for access tokens presented to Keyward itself. oidc-provider checks the
 * proofs sent to its own endpoints (token, userinfo), but Keyward's REST API, token exchange and
 * the platform routes read tokens through its models, where a token bound to a key (`jkt`,
 * published as `cnf.jkt`) would otherwise work as a plain Bearer token (§7.2). Here every
 * request's proof is checked as §4.3 says — nothing about a proof is ever remembered:
 *
 *  - a compact JWS with `typ: dpop+jwt`, an asymmetric `alg` from DPOP_ALGORITHMS, signed by the
 *    public key in its `jwk` header (private members refused);
 *  - `htm` = the request method, `htu` = the request URL without query and fragment, built from
 *    the configured public base URL (so a proxy in front changes nothing, and forwarded headers
 *    cannot steer it);
 *  - `iat` within WINDOW_SECONDS of the service clock (either way);
 *  - `ath` = base64url(SHA-256(access token)) when presenting a token to a resource;
 *  - its key's RFC 7638 thumbprint = the token's `jkt`;
 *  - its `jti` not seen before: claimed once (`dpop-jti:<jkt>:<jti>`, an atomic insert) for as
 *    long as the proof could be accepted.
 */
import { createHash } from 'node:crypto';
import type { Context } from 'koa';
import {
  calculateJwkThumbprint,
  decodeProtectedHeader,
  EmbeddedJWK,
  jwtVerify,
  type JWK,
  type JWTPayload,
} from 'jose';
import { AppError } from '../errors/app-error.ts';
import type { OnceClaims } from '../store/once-marker-repository.ts';

/** Proof algorithms accepted here and at the provider's own endpoints (provider.ts). */
export const DPOP_ALGORITHMS = ['ES256', 'Ed25519', 'EdDSA'] as const;
const ALGORITHMS: readonly string[] = DPOP_ALGORITHMS;
/** How far a proof's `iat` may be from the service clock, in seconds. */
const WINDOW_SECONDS = 60;
/** Members of a private or symmetric JWK; a proof's `jwk` header carries none. */
const SECRET_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];
const MAX_JTI = 256;

/** `invalid_dpop_proof`: the proof itself is wrong; `invalid_token`: it is fine, but not for this token's key. */
export class DpopError extends Error {
  override name = 'DpopError';
  readonly error: 'invalid_dpop_proof' | 'invalid_token';
  constructor(error: DpopError['error'], message: string) {
    super(message);
    this.error = error;
  }
}

export interface ProofCheck {
  /** The `DPoP` header's value; a request has at most one. */
  proof: string | undefined;
  method: string;
  /** The request URL the proof must name (see `urlOf`). */
  url: string;
  /** The key the access token is bound to (RFC 7638 thumbprint). */
  jkt: string;
  /** The access token presented with the proof, for `ath`. */
  accessToken: string;
  /** Required when presenting the token to a resource (§7.1); at the token endpoint checked when present. */
  athRequired: boolean;
}

export interface DpopProofsDeps {
  once: OnceClaims;
  now: () => number;
  /** Public base URL (config.baseUrl), no trailing slash. */
  baseUrl: string;
}

const invalid = (message: string) => new DpopError('invalid_dpop_proof', message);
const sha256 = (value: string) => createHash('sha256').update(value).digest('base64url');

/** A URL as §4.3 compares it: parsed (scheme and host case, default port normalised), no query or fragment. */
function normalisedUrl(value: string): string | undefined {
  const url = URL.parse(value);
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:')) return undefined;
  url.search = '';
  url.hash = '';
  return url.href;
}

export class DpopProofs {
  readonly #d: DpopProofsDeps;

  constructor(deps: DpopProofsDeps) {
    this.#d = deps;
  }

  /** The public URL of this request (the path as it reached Keyward, query left out). */
  urlOf(ctx: Context): string {
    const path = ctx.originalUrl.split(/[?#]/, 1)[0];
    return `${this.#d.baseUrl}${path}`;
  }

  /**
   * §7 for an OAuth access token presented to one of Keyward's resources, with `jkt` the key it
   * is bound to (if any): a bound token only as `DPoP` with a valid proof of that key, an unbound
   * one only as Bearer. Refusals are 401s with a DPoP challenge.
   */
  async checkResource(
    ctx: Context,
    presented: { scheme: string; token: string },
    jkt: string | undefined,
  ): Promise<void> {
    if (!jkt) {
      if (presented.scheme !== 'dpop') return;
      throw refusal(
        'invalid_token',
        'This access token is not bound to a key: send it as Bearer, without a DPoP proof.',
      );
    }
    if (presented.scheme !== 'dpop') {
      throw refusal(
        'invalid_token',
        'This access token is bound to a key (DPoP): send it as Authorization: DPoP <token>, with a DPoP proof of that key.',
      );
    }
    try {
      const proof = ctx.get('dpop') || undefined;
      await this.verify({
        proof,
        method: ctx.method,
        url: this.urlOf(ctx),
        jkt,
        accessToken: presented.token,
        athRequired: true,
      });
    } catch (err) {
      if (err instanceof DpopError) throw refusal(err.error, err.message);
      throw err;
    }
  }

  /** Checks `proof` for this request and token; throws a DpopError saying what is wrong. */
  async verify(check: ProofCheck): Promise<void> {
    const { proof } = check;
    if (!proof) {
      throw invalid(
        'This access token is bound to a key: the request needs a DPoP header with a proof of that key (RFC 9449).',
      );
    }
    const { payload, thumbprint } = await this.#verifySignature(proof);
    const nowSec = Math.floor(this.#d.now() / 1000);

    if (typeof payload.jti !== 'string' || !payload.jti || payload.jti.length > MAX_JTI) {
      throw invalid(
        `The DPoP proof needs a jti: a unique string of at most ${MAX_JTI} characters.`,
      );
    }
    if (typeof payload.iat !== 'number' || !Number.isFinite(payload.iat))
      throw invalid('The DPoP proof needs an iat (a number, seconds).');
    if (Math.abs(nowSec - payload.iat) > WINDOW_SECONDS) {
      throw invalid(
        `The DPoP proof's iat is more than ${WINDOW_SECONDS} seconds from the server's time: make a new proof per request.`,
      );
    }
    if (payload.htm !== check.method)
      throw invalid(`The DPoP proof's htm is not this request's method (${check.method}).`);
    const htu = typeof payload.htu === 'string' ? normalisedUrl(payload.htu) : undefined;
    if (!htu || htu !== normalisedUrl(check.url))
      throw invalid(`The DPoP proof's htu is not this request's URL (${check.url}).`);
    if (payload.ath !== undefined || check.athRequired) {
      if (typeof payload.ath !== 'string')
        throw invalid('The DPoP proof needs an ath: the base64url SHA-256 of the access token.');
      if (payload.ath !== sha256(check.accessToken))
        throw invalid("The DPoP proof's ath is not the hash of this access token.");
    }
    if (thumbprint !== check.jkt) {
      throw new DpopError(
        'invalid_token',
        'The DPoP proof is signed with another key than the one this access token is bound to.',
      );
    }
    // Single use: the first request to insert the marker wins; it outlives the proof's acceptance window.
    const expiresAt = new Date((payload.iat + WINDOW_SECONDS + 1) * 1000);
    if (!(await this.#d.once.claim(`dpop-jti:${check.jkt}:${payload.jti}`, expiresAt))) {
      throw invalid(
        'This DPoP proof has already been used: make a new proof (with a new jti) for every request.',
      );
    }
  }

  /** The proof's claims and its key's thumbprint, once its header and signature are right. */
  async #verifySignature(proof: string): Promise<{ payload: JWTPayload; thumbprint: string }> {
    let header;
    try {
      header = decodeProtectedHeader(proof);
    } catch {
      throw invalid('The DPoP header is not a JWT.');
    }
    if (header.typ !== 'dpop+jwt') throw invalid("The DPoP proof's typ must be dpop+jwt.");
    if (typeof header.alg !== 'string' || !ALGORITHMS.includes(header.alg)) {
      throw invalid(`The DPoP proof's alg must be one of ${DPOP_ALGORITHMS.join(', ')}.`);
    }
    const jwk = header.jwk as JWK | undefined;
    if (!jwk || typeof jwk !== 'object')
      throw invalid('The DPoP proof needs its public key in the jwk header.');
    if (SECRET_MEMBERS.some((m) => m in jwk))
      throw invalid("The DPoP proof's jwk header must hold a public key only.");
    try {
      const { payload } = await jwtVerify(proof, EmbeddedJWK, {
        algorithms: [...ALGORITHMS],
        typ: 'dpop+jwt',
        currentDate: new Date(this.#d.now()),
      });
      return { payload, thumbprint: await calculateJwkThumbprint(jwk, 'sha256') };
    } catch (err) {
      throw invalid(
        `The DPoP proof does not verify with the key in its jwk header: ${(err as Error).message}.`,
      );
    }
  }
}

const refusal = (error: DpopError['error'], message: string) =>
  new AppError('unauthenticated', message, {
    headers: { 'WWW-Authenticate': dpopChallenge(error, message) },
  });

/** A `WWW-Authenticate` challenge for the DPoP scheme (§7.1), with an error when there is one. */
export function dpopChallenge(error?: string, description?: string): string {
  const quoted = (s: string) => s.replace(/["\\]/g, '');
  const parts = ['realm="keyward"'];
  if (error) parts.push(`error="${error}"`);
  if (description) parts.push(`error_description="${quoted(description)}"`);
  parts.push(`algs="${DPOP_ALGORITHMS.join(' ')}"`);
  return `DPoP ${parts.join(', ')}`;
}
