/** Shared steps of the sign-in interaction pages: load the interaction, finish it, name the client. */
import type { Context } from 'koa';
import type Provider from 'oidc-provider';
import type { InteractionResults } from 'oidc-provider';
import { AppError } from '../errors/app-error.ts';
import { isDatabaseUnavailable } from '../db/connect.ts';

export type InteractionDetails = Awaited<ReturnType<Provider['interactionDetails']>>;

/** The interaction of this browser named by `:uid`, or a clear 410 page when it expired. */
export async function loadInteraction(
  provider: Provider,
  ctx: Context,
): Promise<InteractionDetails> {
  try {
    const d = await provider.interactionDetails(ctx.req, ctx.res);
    if (d.uid !== ctx.params.uid) throw new Error('uid mismatch');
    return d;
  } catch (err) {
    if (isDatabaseUnavailable(err)) throw err;
    throw new AppError(
      'interaction_expired',
      'This sign-in page has expired. Go back to the application and sign in again.',
    );
  }
}

/**
 * Completes the step and sends the browser back to the provider (303). The interaction this
 * request already loaded is saved with its result (what `provider.interactionResult` does after
 * loading it a second time), so a step reads its interaction once.
 */
export async function finishInteraction(
  ctx: Context,
  d: InteractionDetails,
  result: InteractionResults,
): Promise<string> {
  d.result = result;
  await d.save(d.exp - Math.floor(Date.now() / 1000));
  ctx.status = 303;
  ctx.redirect(d.returnTo);
  return d.returnTo;
}

export async function clientNameOf(provider: Provider, d: InteractionDetails): Promise<string> {
  const client = await provider.Client.find(String(d.params.client_id));
  return client?.clientName ?? String(d.params.client_id);
}
