/**
 * The provider-side operations the device flow and "connected apps" need, through
 * oidc-provider's public models only (Grant, the token models, DeviceCode, Interaction, Session).
 */
import { SESSION_COOKIE } from '../../platform/oidc/session-cookie.ts';
import type { Context } from 'koa';
import type Provider from 'oidc-provider';
import { normalizeUserCode } from './device-request-repository.ts';

export interface GrantStore {
  /** Whether the grant still exists (not revoked, not expired). */
  isLive(grantId: string): Promise<boolean>;
  /** Revokes the grant and everything issued from it (codes, access and refresh tokens). */
  revoke(grantId: string): Promise<void>;
}

export function providerGrantStore(provider: Provider): GrantStore {
  return {
    async isLive(grantId) {
      return !!(await provider.Grant.find(grantId));
    },
    async revoke(grantId) {
      await Promise.all([
        provider.AccessToken.revokeByGrantId(grantId),
        provider.RefreshToken.revokeByGrantId(grantId),
        provider.AuthorizationCode.revokeByGrantId(grantId),
        provider.DeviceCode.revokeByGrantId(grantId),
      ]);
      const grant = await provider.Grant.find(grantId);
      await grant?.destroy();
    },
  };
}

export interface DeviceCodes {
  /** Marks a pending device request as denied (the device then gets `access_denied`). Answers whether one was. */
  deny(ref: { userCode?: string; interactionUid?: string }, description: string): Promise<boolean>;
  /** The account an interaction has signed in (for the device flow's resume step), if any. */
  interactionAccount(uid: string): Promise<string | undefined>;
  /**
   * Drops the browser session's remembered grant for these clients, so that the next device
   * approval creates a grant of its own: every signed-in device is then its own grant, which
   * can be signed out (or revoked on refresh-token reuse) without touching the others.
   */
  forgetSessionGrants(ctx: Context, clientIds: string[]): Promise<void>;
}

export function providerDeviceCodes(provider: Provider): DeviceCodes {
  return {
    async deny(ref, description) {
      let code;
      if (ref.userCode) {
        const normalized = normalizeUserCode(ref.userCode);
        code = normalized ? await provider.DeviceCode.findByUserCode(normalized) : undefined;
      } else if (ref.interactionUid) {
        const interaction = await provider.Interaction.find(ref.interactionUid);
        code = interaction?.deviceCode
          ? await provider.DeviceCode.find(interaction.deviceCode)
          : undefined;
      }
      if (!code || code.accountId || code.error) return false;
      code.error = 'access_denied';
      code.errorDescription = description;
      await code.save();
      return true;
    },
    async interactionAccount(uid) {
      const interaction = await provider.Interaction.find(uid);
      return interaction?.result?.login?.accountId ?? interaction?.session?.accountId;
    },
    async forgetSessionGrants(ctx, clientIds) {
      if (!ctx.cookies.get(SESSION_COOKIE)) return;
      const session = await provider.Session.get(ctx);
      const authorizations = session.authorizations ?? {};
      const kept = Object.entries(authorizations).filter(
        ([clientId]) => !clientIds.includes(clientId),
      );
      if (kept.length === Object.keys(authorizations).length || typeof session.exp !== 'number')
        return;
      session.authorizations = Object.fromEntries(kept);
      await session.persist();
    },
  };
}
