/**
 * The second sign-in step as an oidc-provider prompt: after `login`, the `mfa` prompt is
 * requested whenever the session's amr does not satisfy the account's factors, its
 * organizations' policies, or the acr the client asked for (acr_values or claims).
 */
import { ACR_MFA, ACR_PWD } from '../../platform/auth/second-factor.ts';
import { interactionPolicy, type KoaContextWithOIDC } from 'oidc-provider';
import type { MfaDecision } from './mfa-decision.ts';

declare module 'koa' {
  interface DefaultState {
    /** The second-factor decision made by the mfa prompt for this request. */
    mfaDecision?: MfaDecision;
  }
}

const KNOWN_ACRS = new Set([ACR_PWD, ACR_MFA]);

/** The first value Keyward knows: acr values are listed in order of preference (OIDC Core §3.1.2.1, §5.5.1). */
function preferred(values: readonly string[]): string | undefined {
  return values.find((v) => KNOWN_ACRS.has(v));
}

/**
 * The acr values asked for through the `claims` parameter (OIDC Core §5.5.1.1), read from the
 * parameter itself: oidc-provider replaces `claims.id_token.acr` with acr_values when both are sent.
 */
function claimsParameterAcrs(raw: unknown): string[] {
  if (typeof raw !== 'string') return [];
  try {
    const acr = (
      JSON.parse(raw) as { id_token?: { acr?: { value?: unknown; values?: unknown } } } | null
    )?.id_token?.acr;
    const values =
      acr?.value !== undefined ? [acr.value] : Array.isArray(acr?.values) ? acr.values : [];
    return values.filter((v): v is string => typeof v === 'string');
  } catch {
    return []; // oidc-provider has already refused a malformed claims parameter
  }
}

/**
 * Whether the client asked for a multi-factor sign-in: the preferred value of `acr_values`, or of
 * an `acr` request in the `claims` parameter (essential or not), is the mfa acr. A password
 * sign-in satisfies `acr_values=urn:keyward:acr:pwd urn:keyward:acr:mfa`; `…:mfa …:pwd` steps up.
 */
export function mfaRequested(ctx: KoaContextWithOIDC): boolean {
  const acrValues = String(ctx.oidc.params?.acr_values ?? '')
    .split(' ')
    .filter(Boolean);
  return (
    preferred(acrValues) === ACR_MFA ||
    preferred(claimsParameterAcrs(ctx.oidc.params?.claims)) === ACR_MFA
  );
}

export function createInteractionPolicy(
  decide: (accountId: string, amr: string[], requested: boolean) => Promise<MfaDecision>,
) {
  const { Prompt, Check, base } = interactionPolicy;
  const policy = base();
  // acr is handled by the mfa prompt (a step-up), not by asking for the password again.
  const login = policy.get('login')!;
  login.checks.remove('essential_acrs');
  login.checks.remove('essential_acr');

  policy.add(
    new Prompt(
      { name: 'mfa', requestable: true },
      (ctx: KoaContextWithOIDC) => ({
        ...(ctx.state.mfaDecision ?? {}),
        requested: mfaRequested(ctx),
      }),
      new Check('mfa_required', 'A second factor is required', async (ctx: KoaContextWithOIDC) => {
        const { session } = ctx.oidc;
        if (!session?.accountId) return Check.NO_NEED_TO_PROMPT;
        const decision = await decide(session.accountId, session.amr ?? [], mfaRequested(ctx));
        ctx.state.mfaDecision = decision;
        return decision.need === 'ok' ? Check.NO_NEED_TO_PROMPT : Check.REQUEST_PROMPT;
      }),
    ),
    1,
  );
  return policy;
}
