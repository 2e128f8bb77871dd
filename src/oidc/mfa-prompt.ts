/**
 * The second sign-in step as an oidc-provider prompt: after `login`, the `mfa` prompt is
 * requested whenever the session's amr does not satisfy the account's factors, its
 * organizations' policies, or the acr the client asked for (acr_values or claims).
 */
import { interactionPolicy, type KoaContextWithOIDC } from 'oidc-provider';
import type { MfaDecision } from '../services/mfa-decision.ts';

export const ACR_PWD = 'urn:keyward:acr:pwd';
export const ACR_MFA = 'urn:keyward:acr:mfa';

/** Whether the client asked for a multi-factor sign-in. */
export function mfaRequested(ctx: KoaContextWithOIDC): boolean {
  const acrValues = String(ctx.oidc.params?.acr_values ?? '').split(' ');
  const claim = (ctx.oidc.claims as { id_token?: { acr?: { value?: string; values?: string[] } } } | undefined)?.id_token?.acr;
  return acrValues.includes(ACR_MFA) || claim?.value === ACR_MFA || !!claim?.values?.includes(ACR_MFA);
}

export function createInteractionPolicy(decide: (accountId: string, amr: string[], requested: boolean) => Promise<MfaDecision>) {
  const { Prompt, Check, base } = interactionPolicy;
  const policy = base();
  // acr is handled by the mfa prompt (a step-up), not by asking for the password again.
  const login = policy.get('login')!;
  login.checks.remove('essential_acrs');
  login.checks.remove('essential_acr');

  policy.add(new Prompt(
    { name: 'mfa', requestable: true },
    (ctx: KoaContextWithOIDC) => ({ ...(ctx.state.mfaDecision ?? {}), requested: mfaRequested(ctx) }),
    new Check('mfa_required', 'A second factor is required', async (ctx: KoaContextWithOIDC) => {
      const { session } = ctx.oidc;
      if (!session?.accountId) return Check.NO_NEED_TO_PROMPT;
      const decision = await decide(session.accountId, session.amr ?? [], mfaRequested(ctx));
      ctx.state.mfaDecision = decision;
      return decision.need === 'ok' ? Check.NO_NEED_TO_PROMPT : Check.REQUEST_PROMPT;
    }),
  ), 1);
  return policy;
}
