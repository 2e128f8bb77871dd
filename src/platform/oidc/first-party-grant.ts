import type { KoaContextWithOIDC, Grant } from 'oidc-provider';
import { FIRST_PARTY, clientProperty } from './clients.ts';

export const isFirstParty = (
  client: { metadata(): Record<string, unknown> } | undefined,
): boolean => client !== undefined && clientProperty(client, FIRST_PARTY) === true;

/**
 * oidc-provider's `loadExistingGrant`: the session's grant for the client if there is one; for a
 * first-party client without one, a grant of everything it asked for, so it never sees a consent
 * screen. Third-party clients go through the consent prompt.
 */
export async function autoGrantFirstParty(ctx: KoaContextWithOIDC): Promise<Grant | undefined> {
  const { oidc } = ctx;
  const client = oidc.client!;
  const grantId = oidc.result?.consent?.grantId || oidc.session!.grantIdFor(client.clientId);
  if (grantId) {
    const existing = await oidc.provider.Grant.find(grantId);
    if (existing && !isFirstParty(client)) return existing;
    if (existing) return extendGrant(ctx, existing);
  }
  if (!isFirstParty(client)) return undefined;
  const grant = new oidc.provider.Grant({
    clientId: client.clientId,
    accountId: oidc.session!.accountId!,
  });
  return extendGrant(ctx, grant);
}

async function extendGrant(ctx: KoaContextWithOIDC, grant: Grant): Promise<Grant> {
  const { oidc } = ctx;
  if (oidc.requestParamScopes.size) grant.addOIDCScope([...oidc.requestParamScopes].join(' '));
  if (oidc.requestParamClaims.size) grant.addOIDCClaims([...oidc.requestParamClaims]);
  await grant.save();
  return grant;
}
