/**
 * RFC 8693 token exchange on `/api/oidc/token` (contract §2.4), registered through
 * oidc-provider's public `registerGrantType`. A client presents an API key, CLI token or
 * first-party OAuth access token as `subject_token` and gets a short-lived signed token for an
 * audience (the client itself, or another app named by `audience` that accepts exchanged tokens):
 *
 * - by default an ID token, in `access_token`, with `token_type=N_A` and
 *   `issued_token_type=urn:ietf:params:oauth:token-type:id_token`;
 * - a JWT access token (RFC 9068) when `requested_token_type` is `…:access_token` or `…:jwt`.
 *
 * An app accepts exchanged tokens when its `grant_types` include the token-exchange grant.
 * Refused: unknown audiences (invalid_target), invalid/expired/deleted subject tokens and
 * disabled users (invalid_grant). A subject token bound to a key (DPoP, RFC 9449) is accepted
 * only when the token request carries a valid DPoP proof of that key (`htu` = this token
 * endpoint; `ath`, if present, of the subject token): without one invalid_grant, with an invalid
 * one invalid_dpop_proof. oidc-provider checks DPoP only for its own grant types.
 */
import { randomUUID } from 'node:crypto';
import { errors, type TokenEndpointGrantContext } from 'oidc-provider';
import type Provider from 'oidc-provider';
import { isAppError } from '../../platform/errors/app-error.ts';
import type { Account } from '../../platform/directory/account-repository.ts';
import {
  principalForCredential,
  type BindingCheck,
  type CredentialAuthenticatorDeps,
} from './api-key-authenticator.ts';
import { DpopError } from '../../platform/auth/dpop-proof.ts';
import type { JwtSigner } from '../../platform/oidc/jwt-signer.ts';

export const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const TokenTypes = {
  accessToken: 'urn:ietf:params:oauth:token-type:access_token',
  idToken: 'urn:ietf:params:oauth:token-type:id_token',
  jwt: 'urn:ietf:params:oauth:token-type:jwt',
} as const;

const PARAMS = [
  'subject_token',
  'subject_token_type',
  'requested_token_type',
  'audience',
  'scope',
  'actor_token',
  'actor_token_type',
];
const DEFAULT_SCOPE = 'openid profile email';

export interface TokenExchangeDeps extends CredentialAuthenticatorDeps {
  signer: JwtSigner;
  /** Lifetime of an issued token (also capped by the subject credential's own expiry). */
  lifetimeSeconds: number;
  /** The service clock (credential expiry); issued tokens use real time like the provider. */
  now: () => number;
}

interface ExchangeParams {
  subject_token?: string;
  subject_token_type?: string;
  requested_token_type?: string;
  audience?: string;
  scope?: string;
  actor_token?: string;
}

type Client = TokenEndpointGrantContext['oidc']['client'];

const refused = (description: string) =>
  new errors.CustomOIDCProviderError('invalid_grant', description);

/** A bound subject token needs this token request's DPoP proof of its key. */
function subjectBinding(
  ctx: TokenEndpointGrantContext,
  deps: TokenExchangeDeps,
  subjectToken: string,
): BindingCheck {
  return async (jkt) => {
    if (!jkt) return;
    const proof = ctx.get('dpop');
    if (!proof)
      throw refused(
        'subject_token is bound to a key (DPoP): the token request needs a DPoP proof of that key',
      );
    try {
      const url = deps.dpop.urlOf(ctx);
      await deps.dpop.verify({
        proof,
        method: ctx.method,
        url,
        jkt,
        accessToken: subjectToken,
        athRequired: false,
      });
    } catch (err) {
      if (!(err instanceof DpopError)) throw err;
      if (err.error === 'invalid_dpop_proof') throw new errors.InvalidDpopProof(err.message);
      throw refused(`subject_token refused: ${err.message}`);
    }
  };
}

/** The audience app: the caller, or another client that accepts exchanged tokens. */
async function audienceOf(
  provider: Provider,
  caller: Client,
  audience: string | undefined,
): Promise<Client> {
  if (!audience || audience === caller.clientId) return caller;
  const target = await provider.Client.find(audience);
  if (!target?.grantTypeAllowed(TOKEN_EXCHANGE))
    throw new errors.InvalidTarget('the audience is not an app that accepts exchanged tokens');
  return target;
}

/** The requested scope within what the audience app may receive (`openid` always for an ID token). */
function grantedScope(requested: string | undefined, audience: Client, idToken: boolean): string {
  const allowed = new Set((audience.scope ?? DEFAULT_SCOPE).split(' '));
  const wanted = (requested ?? DEFAULT_SCOPE).split(' ').filter(Boolean);
  const unknown = wanted.filter((s) => !allowed.has(s));
  if (requested !== undefined && unknown.length)
    throw new errors.InvalidScope(
      'requested scope is not allowed for this audience',
      unknown.join(' '),
    );
  const scopes = new Set(wanted.filter((s) => allowed.has(s)));
  if (idToken) scopes.add('openid');
  return [...scopes].join(' ');
}

const claimsOf = (a: Account) => ({
  sub: a.id,
  name: a.displayName,
  preferred_username: a.username,
  email: a.email,
  email_verified: false,
  updated_at: Math.floor(a.updatedAt.getTime() / 1000),
});

export function registerTokenExchange(provider: Provider, deps: TokenExchangeDeps): void {
  provider.registerGrantType<ExchangeParams>(
    TOKEN_EXCHANGE,
    async (ctx) => {
      const { client, params } = ctx.oidc;
      if (params.actor_token)
        throw new errors.InvalidRequest('actor_token (delegation) is not supported');
      if (!params.subject_token)
        throw new errors.InvalidRequest('missing required parameter: subject_token');
      if (params.subject_token_type !== TokenTypes.accessToken) {
        throw new errors.InvalidRequest(`subject_token_type must be ${TokenTypes.accessToken}`);
      }
      const requested = params.requested_token_type ?? TokenTypes.idToken;
      if (!Object.values(TokenTypes).includes(requested as never))
        throw new errors.InvalidRequest(`unsupported requested_token_type: ${requested}`);
      const audience = await audienceOf(provider, client, params.audience);
      const idToken = requested === TokenTypes.idToken;
      const scope = grantedScope(params.scope, audience, idToken);

      let principal;
      try {
        principal = await principalForCredential(
          deps,
          params.subject_token,
          ctx.ip,
          subjectBinding(ctx, deps, params.subject_token),
        );
      } catch (err) {
        if (isAppError(err) && err.status < 500)
          throw refused(`subject_token refused: ${err.message}`);
        throw err;
      }

      const nowSec = Math.floor(Date.now() / 1000);
      const remaining = principal.expiresAt
        ? Math.floor((principal.expiresAt.getTime() - deps.now()) / 1000)
        : Infinity;
      const expiresIn = Math.max(1, Math.min(deps.lifetimeSeconds, remaining));
      const common = { expires_in: expiresIn, scope };

      if (idToken) {
        const token = new provider.IdToken(claimsOf(principal.account), { ctx, client: audience });
        (token as unknown as { scope: string }).scope = scope;
        if (audience.clientId !== client.clientId) token.set('azp', client.clientId);
        ctx.body = {
          access_token: await token.issue({ use: 'idtoken', expiresAt: nowSec + expiresIn }),
          issued_token_type: TokenTypes.idToken,
          token_type: 'N_A',
          ...common,
        };
        return;
      }
      const jwt = deps.signer.sign(
        {
          iss: provider.issuer,
          sub: principal.account.id,
          aud: audience.clientId,
          client_id: client.clientId,
          scope,
          iat: nowSec,
          exp: nowSec + expiresIn,
          jti: randomUUID(),
          preferred_username: principal.account.username,
        },
        'at+jwt',
      );
      ctx.body = {
        access_token: jwt,
        issued_token_type: requested,
        token_type: 'Bearer',
        ...common,
      };
    },
    PARAMS,
  );
}
