/**
 * The contract's shape of a token-exchange request (§2.4): "`client_id` or `audience`; no client
 * secret is sent", and "other app kinds get `unauthorized_client`, or `invalid_target` when only
 * `audience` names the app". oidc-provider authenticates every token request by `client_id`, so
 * for an exchange request without client authentication this middleware (in front of the
 * provider) checks the named app first and, when only `audience` names it, adds it as `client_id`.
 * The grant itself runs inside the provider (token-exchange.ts).
 */
import type { Middleware } from 'koa';
import type Provider from 'oidc-provider';
import { peekForm, replaceForm } from '../../platform/http/middleware/body-peek.ts';
import { OAuthError, sendOAuthError } from './oauth-error.ts';
import { TOKEN_EXCHANGE } from './token-exchange.ts';

export function tokenExchangeContract(deps: { provider: Provider; mountPath: string }): Middleware {
  const { provider } = deps;
  const path = `${deps.mountPath}/token`;
  return async (ctx, next) => {
    if (ctx.path !== path || ctx.method !== 'POST') return next();
    const params = await peekForm(ctx);
    if (!params || params.get('grant_type') !== TOKEN_EXCHANGE) return next();
    // A client that authenticates itself is a standard RFC 8693 request: the provider decides.
    if (ctx.get('authorization') || params.has('client_secret') || params.has('client_assertion'))
      return next();
    const clientId = params.get('client_id');
    const audience = params.get('audience');
    const named = clientId ?? audience;
    if (!named || params.getAll('client_id').length > 1 || params.getAll('audience').length > 1)
      return next();

    const app = await provider.Client.find(named);
    const accepts = !!app?.grantTypeAllowed(TOKEN_EXCHANGE);
    if (clientId !== null) {
      // Unknown apps are left to the provider (invalid_client); known ones that do not accept exchange are refused here.
      if (app && !accepts)
        return sendOAuthError(
          ctx,
          new OAuthError(400, 'unauthorized_client', 'this app does not accept token exchange'),
          provider.issuer,
        );
      return next();
    }
    if (!app || !accepts || app.clientAuthMethod !== 'none') {
      return sendOAuthError(
        ctx,
        new OAuthError(
          400,
          'invalid_target',
          'the audience is not an app that accepts exchanged tokens without a client secret',
        ),
        provider.issuer,
      );
    }
    params.set('client_id', named);
    replaceForm(ctx, params);
    return next();
  };
}
