/** Shared steps of the sign-in interaction pages: load the interaction, finish it, name the client. */
import type { Context } from 'koa';
import type Provider from 'oidc-provider';
import type { InteractionResults } from 'oidc-provider';
import { AppError } from '../../errors/app-error.ts';
import { isDatabaseUnavailable } from '../../db/connect.ts';

export type InteractionDetails = Awaited<ReturnType<Provider['interactionDetails']>>;

/** The interaction of this browser named by `:uid`, or a clear 410 page when it expired. */
export async function loadInteraction(provider: Provider, ctx: Context): Promise<InteractionDetails> {
  try {
    const d = await provider.interactionDetails(ctx.req, ctx.res);
    if (d.uid !== ctx.params.uid) throw new Error('uid mismatch');
    return d;
  } catch (err) {
    if (isDatabaseUnavailable(err)) throw err;
    throw new AppError('interaction_expired', 'This sign-in page has expired. Go back to the application and sign in again.');
  }
}

/** Completes the step and sends the browser back to the provider (303). */
export async function finishInteraction(provider: Provider, ctx: Context, result: InteractionResults): Promise<string> {
  const url = await provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: false });
  ctx.status = 303;
  ctx.redirect(url);
  return url;
}

export async function clientNameOf(provider: Provider, d: InteractionDetails): Promise<string> {
  const client = await provider.Client.find(String(d.params.client_id));
  return client?.clientName ?? String(d.params.client_id);
}
