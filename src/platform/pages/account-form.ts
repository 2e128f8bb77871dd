/**
 * One handler for every account-page form, so each form gets the same rules in the same order:
 *   1. a signed-in browser session (else: to sign in and back);
 *   2. the CSRF token of the session (else 403);
 *   3. sudo mode, when the form names a sudo action, and whenever the change itself asks for it
 *      (`sudo_required`): the browser goes to "Confirm it's you" and comes back to the page;
 *   4. the posted fields validated by a zod schema (else the page again, 400, with the message
 *      at the field it concerns);
 *   5. the change; on success post/redirect/get (303), optionally carrying a one-time secret to the
 *      next page; a 4xx AppError re-renders the page with its message and status.
 */
import type { Context } from 'koa';
import { z } from 'zod';
import { isAppError, type AppError } from '../errors/app-error.ts';
import type { Principal } from '../auth/principal.ts';
import type { AccountPageKit } from './account-page-kit.ts';

/** What the page shows when a form fails: the message, the field it concerns and what was typed. */
export interface FormFailure {
  error: string;
  field?: string;
  form: Record<string, string>;
}

/** After a change: where to go (303), and a secret to show once there. */
export type FormDone = string | { to: string; secret?: Record<string, unknown> };

export interface AccountFormSpec<T> {
  /** The posted fields (strings; the CSRF field is checked and removed first). */
  schema: z.ZodType<T>;
  /** Names the change for "Confirm it's you before you …"; omitted: no sudo check before the change. */
  sudo?: string;
  /** Where "Confirm it's you" returns to; defaults to the page the form posts from (its path). */
  back?: (ctx: Context) => string;
  change(ctx: Context, p: Principal, form: T): Promise<FormDone>;
  /** Renders the form's page again with the failure (the status is set already). */
  rerender(ctx: Context, p: Principal, failure: FormFailure): Promise<void>;
  /** The field an AppError of the change concerns (shown there); by default its first field error's pointer. */
  fieldOf?: (err: AppError) => string | undefined;
  /** Fields never echoed back to the browser (private keys, passphrases). */
  secretFields?: string[];
}

const strings = (body: Record<string, unknown>, hide: string[]) =>
  Object.fromEntries(
    Object.entries(body)
      .filter(([k, v]) => k !== '_csrf' && typeof v === 'string' && !hide.includes(k))
      .map(([k, v]) => [k, v as string]),
  );

/** Sends the browser to "Confirm it's you", returning to `back` afterwards. */
export function toVerify(ctx: Context, verifyUrl: unknown, back: string): void {
  ctx.redirect(
    `${typeof verifyUrl === 'string' ? verifyUrl : '/account/verify'}?next=${encodeURIComponent(back)}`,
  );
}

/** A koa route handler for an account form. */
export function accountForm<T>(
  kit: AccountPageKit,
  spec: AccountFormSpec<T>,
): (ctx: Context) => Promise<void> {
  return async (ctx) => {
    const p = await kit.signedIn(ctx);
    if (!p) return;
    const body = kit.form(ctx, p);
    const echo = strings(body, spec.secretFields ?? []);
    const back =
      spec.back?.(ctx) ??
      ctx.path.replace(/\/(?:[^/]+\/)?(?:delete|sign-out|disconnect|tokens)$/, '');
    const fail = async (status: number, error: string, field?: string) => {
      ctx.status = status;
      await spec.rerender(ctx, p, { error, field, form: echo });
    };
    try {
      // Sudo first: a re-rendered page may show what only a confirmed session should see.
      if (spec.sudo) await kit.sudo.require(p, spec.sudo);
      const parsed = spec.schema.safeParse(body);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        return await fail(
          400,
          issue.message,
          issue.path[0] === undefined ? undefined : String(issue.path[0]),
        );
      }
      const done = await spec.change(ctx, p, parsed.data);
      const to = typeof done === 'string' ? done : done.to;
      if (typeof done !== 'string' && done.secret) kit.secrets.put(ctx, p.sessionUid!, done.secret);
      ctx.status = 303;
      ctx.redirect(to);
    } catch (err) {
      if (isAppError(err) && err.code === 'sudo_required')
        return toVerify(ctx, err.params.verifyUrl, back);
      if (!isAppError(err) || err.status >= 500) throw err;
      const pointer = err.fieldErrors[0]?.pointer?.replace(/^#\//, '');
      await fail(err.status, err.message, spec.fieldOf ? spec.fieldOf(err) : pointer);
    }
  };
}

/** A form with no fields but its CSRF token (deletes, sign-outs). */
export const noFields = z.object({}).loose();
/** An optional text field as posted (absent → ""). */
export const field = () =>
  z
    .string()
    .optional()
    .transform((v) => v ?? '');
