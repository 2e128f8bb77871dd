import type { KoaContextWithOIDC, ErrorOut } from 'oidc-provider';
import type { Views } from '../http/views.ts';

const MESSAGES: Record<string, string> = {
  invalid_request: 'The application sent an invalid sign-in request.',
  invalid_client: 'The application is not registered with Keyward.',
  invalid_redirect_uri: 'The application asked to return to an address it has not registered.',
  unauthorized_client: 'The application is not allowed to do this.',
  access_denied: 'Access was denied.',
  session_not_found:
    'Your sign-in session has expired or was already used. Start again from the application.',
  server_error: 'Something went wrong on our side. Please try again.',
};

/** Pages oidc-provider renders itself (errors, logout), drawn with our templates. */
export function createPages(views: Views) {
  return {
    async renderError(ctx: KoaContextWithOIDC, out: ErrorOut, _error: Error) {
      ctx.type = 'html';
      ctx.body = views.render('error.njk', {
        title: ctx.status >= 500 ? 'Something went wrong' : 'Sign-in problem',
        message:
          MESSAGES[out.error] ?? out.error_description ?? 'The request could not be completed.',
        detail: out.error_description,
        code: out.error,
        requestId: ctx.state?.requestId,
      });
    },
    async logoutSource(ctx: KoaContextWithOIDC, form: string) {
      ctx.type = 'html';
      ctx.body = views.render('sign-in/logout.njk', {
        form,
        clientName: ctx.oidc.client?.clientName ?? ctx.oidc.client?.clientId,
      });
    },
    async postLogoutSuccessSource(ctx: KoaContextWithOIDC) {
      ctx.type = 'html';
      ctx.body = views.render('sign-in/logged-out.njk', {
        clientName: ctx.oidc.client?.clientName ?? ctx.oidc.client?.clientId,
      });
    },
  };
}
