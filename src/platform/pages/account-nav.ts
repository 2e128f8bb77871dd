/**
 * The account area's navigation: features add their pages here. The documentation's structure is
 * Account > Profile, Authentication (API Keys, SSH Keys, 2-Step Verification as its tabs), SSH
 * Private Keys; then Security and, for administrators only, Administration. An item may say whom
 * it is for (`visible`) and a one-word status for the Authentication overview (`status`).
 */
import type { Principal } from '../auth/principal.ts';

export interface NavItem {
  href: string;
  label: string;
  group: 'Account' | 'Authentication' | 'Security' | 'Administration';
  /** Position within its group (lower first); items without one keep their registration order after. */
  order?: number;
  /** One sentence for the Authentication overview. */
  description?: string;
  /** Shown only when this answers true (e.g. administrators). */
  visible?: (p: Principal) => Promise<boolean>;
  /** A short state shown next to the item on the overview (e.g. 2-Step Verification: On). */
  status?: (p: Principal) => Promise<{ text: string; on: boolean }>;
}

export interface NavEntry {
  href: string;
  label: string;
  children?: NavEntry[];
}
export interface NavGroup {
  group: string;
  items: NavEntry[];
}

/** The Authentication overview page: its items are the Authentication group, shown as its tabs. */
export const AUTHENTICATION_PAGE = '/account/authentication';
const ORDER: NavItem['group'][] = ['Account', 'Authentication', 'Security', 'Administration'];

export class AccountNav {
  readonly items: NavItem[] = [];
  add(item: NavItem): void {
    this.items.push(item);
  }

  /** The items `p` may see (their `visible` checks run once per page). */
  async visibleTo(p: Principal): Promise<NavItem[]> {
    const shown = await Promise.all(this.items.map(async (i) => (i.visible ? i.visible(p) : true)));
    return this.items.filter((_, n) => shown[n]);
  }

  /** The sidebar: Authentication's tabs nest under its overview link inside the Account group. */
  grouped(items: NavItem[] = this.items): NavGroup[] {
    const sorted = (g: NavItem['group']) =>
      items
        .map((item, n) => ({ item, n }))
        .filter(({ item }) => item.group === g)
        .sort((a, b) => (a.item.order ?? 1000 + a.n) - (b.item.order ?? 1000 + b.n))
        .map(({ item }) => ({ href: item.href, label: item.label }));
    const tabs = sorted('Authentication');
    return ORDER.filter((g) => g !== 'Authentication')
      .map((group) => {
        const entries: NavEntry[] = sorted(group);
        if (group === 'Account' && tabs.length) {
          const at = entries.findIndex((e) => e.href === AUTHENTICATION_PAGE);
          if (at >= 0) entries[at] = { ...entries[at], children: tabs };
        }
        return { group, items: entries };
      })
      .filter((g) => g.items.length);
  }

  /** The Authentication tabs, in order. */
  tabs(items: NavItem[] = this.items): NavItem[] {
    return items
      .map((item, n) => ({ item, n }))
      .filter(({ item }) => item.group === 'Authentication')
      .sort((a, b) => (a.item.order ?? 1000 + a.n) - (b.item.order ?? 1000 + b.n))
      .map(({ item }) => item);
  }
}
