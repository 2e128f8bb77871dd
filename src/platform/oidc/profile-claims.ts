/** The OIDC standard claims of the `profile` scope that a person may set, for those they have set (OIDC Core §5.1). */
import type { Account } from '../directory/account-repository.ts';

export function profileClaims(account: Account): Record<string, string> {
  const claims: Record<string, string | undefined> = {
    given_name: account.givenName,
    family_name: account.familyName,
    locale: account.locale,
    zoneinfo: account.zoneinfo,
  };
  return Object.fromEntries(Object.entries(claims).filter((e): e is [string, string] => !!e[1]));
}
