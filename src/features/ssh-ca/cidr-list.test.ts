/** CIDR lists for the `source-address` certificate option: what OpenSSH accepts, and why not. */
import { cidrEntries, cidrListProblem, normalizeCidrList } from './cidr-list.ts';

describe('cidrListProblem', () => {
  it.each([
    '192.0.2.1',
    '192.0.2.0/24',
    '10.0.0.0/8,172.16.0.0/12, 192.168.0.0/16',
    '0.0.0.0/0',
    '10.0.0.0/7',
    '192.0.2.1/32',
    '2001:db8::1',
    '2001:db8::/32',
    '::/0',
    '::1/128',
    'fe80::/10',
    '2001:db8:0:0:0:0:0:0/64',
    '::ffff:192.0.2.0/120',
    '192.0.2.0/24,2001:db8::/48',
  ])('accepts %j', (list) => {
    expect(cidrListProblem(list)).toBeUndefined();
  });

  it.each([
    ['', 'the list is empty'],
    [' , ,', 'the list is empty'],
    ['example.com', '"example.com" is not an IPv4 or IPv6 address'],
    ['192.0.2.*', '"192.0.2.*" is not an IPv4 or IPv6 address'],
    ['!192.0.2.1', '"!192.0.2.1" is not an IPv4 or IPv6 address'],
    ['256.0.0.1', '"256.0.0.1" is not an IPv4 or IPv6 address'],
    ['192.0.2.0/24/8', '"192.0.2.0/24/8" has more than one "/"'],
    ['192.0.2.0/24/', '"192.0.2.0/24/" has more than one "/"'],
    ['192.0.2.0/33', '"192.0.2.0/33": the prefix length must be 0–32'],
    ['192.0.2.0/', '"192.0.2.0/": the prefix length must be 0–32'],
    ['192.0.2.0/-1', '"192.0.2.0/-1": the prefix length must be 0–32'],
    ['2001:db8::/129', '"2001:db8::/129": the prefix length must be 0–128'],
    ['192.0.2.1/24', '"192.0.2.1/24" has bits set beyond /24 (write the network address)'],
    ['192.0.2.128/24', '"192.0.2.128/24" has bits set beyond /24 (write the network address)'],
    ['11.0.0.0/7', '"11.0.0.0/7" has bits set beyond /7 (write the network address)'],
    ['2001:db8::1/64', '"2001:db8::1/64" has bits set beyond /64 (write the network address)'],
    ['2001:db8::/16', '"2001:db8::/16" has bits set beyond /16 (write the network address)'],
    [
      '::ffff:192.0.2.1/120',
      '"::ffff:192.0.2.1/120" has bits set beyond /120 (write the network address)',
    ],
    ['10.0.0.0/8,10.0.0.1/8', '"10.0.0.1/8" has bits set beyond /8 (write the network address)'],
  ])('refuses %j: %s', (list, problem) => {
    expect(cidrListProblem(list)).toBe(problem);
  });

  it('accepts 64 entries and refuses 65', () => {
    const entries = (n: number) => Array.from({ length: n }, (_, i) => `10.0.${i}.0/24`).join(',');
    expect(cidrListProblem(entries(64))).toBeUndefined();
    expect(cidrListProblem(entries(65))).toBe('at most 64 entries');
  });
});

describe('normalisation', () => {
  it('trims entries and drops empty ones', () => {
    expect(cidrEntries(' 192.0.2.0/24 ,, 2001:db8::/32 ,')).toEqual([
      '192.0.2.0/24',
      '2001:db8::/32',
    ]);
  });

  it('joins the entries with commas and no spaces, as OpenSSH wants them', () => {
    expect(normalizeCidrList(' 192.0.2.0/24 ,, 2001:db8::/32 ,')).toBe(
      '192.0.2.0/24,2001:db8::/32',
    );
    expect(normalizeCidrList('192.0.2.1')).toBe('192.0.2.1');
  });
});
