/** Sudo mode on pages: instead of an error, send the user to "Confirm it's you" and back. */
import type { Context } from 'koa';
import { isAppError, type AppError } from '../errors/app-error.ts';
import type { Principal } from '../auth/principal.ts';
import type { SudoGuard } from '../auth/sudo-service.ts';

/** Redirects to the verification page named by a `sudo_required` error, returning to `page` afterwards. */
export function redirectToVerify(ctx: Context, err: AppError, page: string): void {
  ctx.redirect(`${String(err.params.verifyUrl ?? '/account/verify')}?next=${encodeURIComponent(page)}`);
}

/** Answers true when the change may go ahead; otherwise redirects to verification and answers false. */
export async function sudoOrVerify(ctx: Context, sudo: SudoGuard, p: Principal, action: string, page: string): Promise<boolean> {
  try {
    await sudo.require(p, action);
    return true;
  } catch (err) {
    if (!isAppError(err) || err.code !== 'sudo_required') throw err;
    redirectToVerify(ctx, err, page);
    return false;
  }
}

/**
 * A page's change: on success the browser is sent to `to` (303, post-redirect-get); an AppError
 * below 500 re-renders the page with its message and status instead.
 */
export async function changeThenRedirect(ctx: Context, change: () => Promise<unknown>, rerender: (error: string) => Promise<void>, to: string): Promise<void> {
  try {
    await change();
  } catch (err) {
    if (!isAppError(err) || err.status >= 500) throw err;
    ctx.status = err.status;
    await rerender(err.message);
    return;
  }
  ctx.status = 303;
  ctx.redirect(to);
}
