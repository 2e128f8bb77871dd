/** Account > Security > Security events: the account's events in words, filterable by kind. */
import type { Context } from 'koa';
import type { Principal } from '../../platform/auth/principal.ts';
import type { AccountPageKit } from '../../platform/pages/account-page-kit.ts';
import { EVENT_KINDS, wordEvent } from './event-wording.ts';

interface Event {
  type: string;
  outcome: 'success' | 'failure';
  at: Date;
  ip?: string;
  details?: Record<string, unknown>;
}

export async function showSecurityEvents(
  ctx: Context,
  kit: AccountPageKit,
  p: Principal,
  events: Event[],
): Promise<void> {
  const kind = EVENT_KINDS.find((k) => k.value === ctx.query.kind)?.value;
  const rows = events
    .map((e) => ({ ...wordEvent(e), type: e.type, at: e.at.toISOString(), ip: e.ip }))
    .filter((e) => !kind || e.kind === kind);
  kit.render(ctx, p, 'account/security-events.njk', {
    rows,
    kinds: EVENT_KINDS,
    kind,
    total: events.length,
  });
}
