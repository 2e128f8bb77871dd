/** Sudo mode on pages: instead of an error, send the user to "Confirm it's you" and back. */
import type { Context } from 'koa';
import { isAppError, type AppError } from '../../errors/app-error.ts';
import type { Principal } from '../auth/principal.ts';
import type { SudoGuard } from '../../services/sudo-service.ts';

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
