/**
 * Sudo mode on pages that are not forms (a GET that shows a secret, such as the authenticator
 * setup's QR code): instead of an error, send the user to "Confirm it's you" and back. Forms get
 * the same rule from src/platform/pages/account-form.ts.
 */
import type { Context } from 'koa';
import { isAppError } from '../errors/app-error.ts';
import type { Principal } from '../auth/principal.ts';
import type { SudoGuard } from '../auth/sudo-service.ts';
import { toVerify } from './account-form.ts';

/** Answers true when the change may go ahead; otherwise redirects to verification and answers false. */
export async function sudoOrVerify(
  ctx: Context,
  sudo: SudoGuard,
  p: Principal,
  action: string,
  page: string,
): Promise<boolean> {
  try {
    await sudo.require(p, action);
    return true;
  } catch (err) {
    if (!isAppError(err) || err.code !== 'sudo_required') throw err;
    toVerify(ctx, err.params.verifyUrl, page);
    return false;
  }
}
