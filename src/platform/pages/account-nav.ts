/** The account area's navigation: features add their pages here. */
export interface NavItem { href: string; label: string; group: 'Account' | 'Authentication' | 'Security' | 'Administration' }

export class AccountNav {
  readonly items: NavItem[] = [];
  add(item: NavItem): void { this.items.push(item); }
  grouped(): { group: string; items: NavItem[] }[] {
    const order: NavItem['group'][] = ['Account', 'Authentication', 'Security', 'Administration'];
    return order.map((group) => ({ group, items: this.items.filter((i) => i.group === group) })).filter((g) => g.items.length);
  }
}
