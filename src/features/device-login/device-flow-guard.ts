/**
 * In front of oidc-provider's device pages (`/api/oidc/device`, `/api/oidc/device/:uid`), which
 * the provider renders through our templates (device-flow-options.ts):
 *
 * - the person signs in first (with MFA per policy), so every code entry belongs to an account;
 * - wrong codes are limited per IP and per account: a locked caller gets a "too many attempts"
 *   page (429) and the provider never sees the request;
 * - `disable-device-login` refuses approval: the device request is marked denied (the device
 *   gets `access_denied`) and a clear page explains why, at code entry and again when a sign-in
 *   in the middle of the flow (the resume step) changes who is approving;
 * - each approval gets its own grant (see DeviceCodes.forgetSessionGrants), so each device can be
 *   signed out on its own;
 * - audit events for approvals, denials, refusals and lockouts.
 */
import type { Context, Middleware, Next } from 'koa';
import type { Principal } from '../../platform/auth/principal.ts';
import type { Views } from '../../platform/http/views.ts';
import type { DeviceFlowService } from './device-flow-service.ts';
import type { AuditService } from '../../platform/directory/audit-service.ts';
import type { AccountService } from '../../platform/directory/account-service.ts';
import type { DeviceCodes } from './grant-store.ts';
import type { DevicePageState } from './device-flow-options.ts';
import { requestInfo } from '../../platform/http/request-info.ts';

export interface DeviceFlowGuardDeps {
  /** The mount path of the provider (`/api/oidc`). */
  prefix: string;
  signedIn(ctx: Context): Promise<Principal | undefined>;
  deviceFlow: DeviceFlowService;
  deviceCodes: DeviceCodes;
  accounts: AccountService;
  audit: AuditService;
  views: Views;
  /** Clients allowed the device grant: their session-remembered grants are dropped before an approval. */
  deviceClientIds: string[];
}

/** oidc-provider matches routes ignoring ASCII case; so must we, or a guard could be stepped around. */
const fold = (path: string) => path.replace(/[a-z]/g, (c) => c.toUpperCase()).replace(/\/+$/, '');

function duration(seconds: number): string {
  if (seconds < 90) return `${seconds} seconds`;
  return `${Math.ceil(seconds / 60)} minutes`;
}

async function readForm(ctx: Context, limit = 16 * 1024): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) break;
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

export function deviceFlowGuard(deps: DeviceFlowGuardDeps): Middleware {
  const { deviceFlow, audit, views } = deps;
  const ENTRY = fold(`${deps.prefix}/device`);
  const RESUME = new RegExp(`^${fold(deps.prefix).replace(/[/]/g, '\\/')}\\/DEVICE\\/([^/]+)$`);

  const render = (ctx: Context, status: number, context: Record<string, unknown>) => {
    ctx.status = status;
    ctx.type = 'html';
    ctx.set('Cache-Control', 'no-store');
    ctx.body = views.render('device-login/result.njk', context);
  };

  const locked = (ctx: Context, wait: number) => {
    ctx.set('Retry-After', String(wait));
    render(ctx, 429, {
      status: 'error',
      title: 'Too many attempts',
      retryAfter: duration(wait),
      code: 'rate_limited',
      requestId: ctx.state.requestId,
      message:
        'Too many wrong codes were entered from your account or network, so code entry is paused for a while. Check the code on your device before trying again.',
    });
  };

  const refused = (ctx: Context, message: string) =>
    render(ctx, 403, {
      status: 'error',
      title: 'Device sign\u2011in is not allowed',
      message,
      code: 'forbidden',
      requestId: ctx.state.requestId,
    });

  const pageState = (
    principal: { account: { username: string; displayName: string } } | undefined,
  ): DevicePageState => ({
    account: principal
      ? { username: principal.account.username, displayName: principal.account.displayName }
      : undefined,
    isExpiredUserCode: (userCode) => deviceFlow.isExpiredUserCode(userCode),
  });

  async function recordOutcome(
    ctx: Context,
    accountId: string | undefined,
    state: DevicePageState,
  ): Promise<void> {
    if (!accountId) return;
    const details = {
      client: state.clientId ?? 'unknown',
      ...(state.deviceName ? { device: state.deviceName } : {}),
    };
    if (state.outcome === 'approved')
      await audit.record({
        type: 'device.approved',
        accountId,
        request: requestInfo(ctx),
        details,
      });
    if (state.outcome === 'denied')
      await audit.record({
        type: 'device.denied',
        accountId,
        request: requestInfo(ctx),
        details: {},
      });
  }

  async function entryPage(ctx: Context, next: Next): Promise<void> {
    const principal = await deps.signedIn(ctx);
    if (!principal) {
      const target = ctx.method === 'POST' ? `${deps.prefix}/device` : ctx.originalUrl;
      ctx.status = 303;
      return ctx.redirect(`/signin?next=${encodeURIComponent(target)}`);
    }
    const accountId = principal.account.id;
    if (ctx.method !== 'POST') {
      const wait = await deviceFlow.retryAfter(ctx.ip, accountId);
      if (wait > 0) return locked(ctx, wait);
      const viewed = (ctx.state.devicePage = pageState(principal));
      await next();
      return recordOutcome(ctx, accountId, viewed);
    }
    // A code entry is reserved before anyone looks at the code (throttle-service.ts).
    const { wait, attempt } = await deviceFlow.reserveCodeEntry(ctx.ip, accountId);
    if (!attempt) return locked(ctx, wait);
    const refusal = await deviceFlow.refusal(accountId);
    if (refusal) {
      const userCode = (await readForm(ctx)).get('user_code') ?? undefined;
      const denied = userCode ? await deps.deviceCodes.deny({ userCode }, refusal) : false;
      // Guessing codes here could deny other people's pending sign-ins: a miss counts as a wrong code.
      await (userCode && !denied ? attempt.failed() : attempt.succeeded());
      await audit.record({
        type: 'device.refused',
        outcome: 'failure',
        accountId,
        request: requestInfo(ctx),
        details: { policy: 'disable-device-login', pending: denied },
      });
      return refused(ctx, refusal);
    }
    await deps.deviceCodes.forgetSessionGrants(ctx, deps.deviceClientIds);
    const state = (ctx.state.devicePage = pageState(principal));
    try {
      await next();
    } catch (err) {
      await attempt.cancel();
      throw err;
    }
    if (state.outcome === 'wrong_code') {
      await attempt.failed();
      const after = await deviceFlow.retryAfter(ctx.ip, accountId);
      if (after > 0) {
        await audit.record({
          type: 'device.code_locked',
          outcome: 'failure',
          accountId,
          request: requestInfo(ctx),
          details: {},
        });
        locked(ctx, after);
      }
    } else {
      await attempt.succeeded();
    }
    await recordOutcome(ctx, accountId, state);
  }

  async function resumePage(ctx: Context, next: Next, uid: string): Promise<void> {
    const principal = await deps.signedIn(ctx);
    const accountId = (await deps.deviceCodes.interactionAccount(uid)) ?? principal?.account.id;
    if (accountId) {
      const refusal = await deviceFlow.refusal(accountId);
      if (refusal) {
        const denied = await deps.deviceCodes.deny({ interactionUid: uid }, refusal);
        await audit.record({
          type: 'device.refused',
          outcome: 'failure',
          accountId,
          request: requestInfo(ctx),
          details: { policy: 'disable-device-login', pending: denied },
        });
        return refused(ctx, refusal);
      }
    }
    await deps.deviceCodes.forgetSessionGrants(ctx, deps.deviceClientIds);
    const account = accountId ? await deps.accounts.findById(accountId) : undefined;
    const state = (ctx.state.devicePage = pageState(account ? { account } : principal));
    await next();
    await recordOutcome(ctx, accountId, state);
  }

  return async (ctx, next) => {
    const path = fold(ctx.path);
    if (path === ENTRY && ['GET', 'HEAD', 'POST'].includes(ctx.method)) return entryPage(ctx, next);
    const resume = RESUME.exec(path);
    if (resume && ['GET', 'HEAD'].includes(ctx.method))
      return resumePage(ctx, next, ctx.path.replace(/\/+$/, '').split('/').pop()!);
    return next();
  };
}
