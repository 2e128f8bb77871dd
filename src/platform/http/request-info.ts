import type { Context } from 'koa';
import type { RequestInfo } from '../directory/audit-service.ts';

/** Where a request came from, for audit events. */
export const requestInfo = (ctx: Context): RequestInfo => ({
  ip: ctx.ip,
  userAgent: ctx.get('user-agent') || undefined,
});
