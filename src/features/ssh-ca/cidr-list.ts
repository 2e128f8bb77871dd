/**
 * Comma-separated CIDR lists as OpenSSH's `source-address` certificate option reads them
 * (addr_match_cidr_list): IPv4 or IPv6 addresses, each with an optional /prefix, no host bits set
 * beyond the prefix, no wildcards or negation.
 */
import { isIPv4, isIPv6 } from 'node:net';

const MAX_ENTRIES = 64;

function ipv4Bytes(a: string): number[] {
  return a.split('.').map(Number);
}

function ipv6Bytes(a: string): number[] {
  let text = a;
  const tail: number[] = [];
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    tail.push(...ipv4Bytes(v4[1]));
    text = text.slice(0, -v4[1].length) + '0:0';
  }
  const [head, rest] = text.includes('::') ? text.split('::') : [text, undefined];
  const groups = (s: string | undefined) => (s ? s.split(':').filter((g) => g !== '') : []);
  const h = groups(head);
  const r = groups(rest);
  const all = rest === undefined ? h : [...h, ...Array(8 - h.length - r.length).fill('0'), ...r];
  const bytes = all.flatMap((g) => {
    const n = parseInt(g, 16);
    return [n >> 8, n & 0xff];
  });
  if (tail.length) bytes.splice(12, 4, ...tail);
  return bytes;
}

function hostBitsSet(bytes: number[], prefix: number): boolean {
  for (let i = 0; i < bytes.length; i++) {
    const keep = Math.max(0, Math.min(8, prefix - i * 8));
    const mask = keep === 0 ? 0 : (0xff << (8 - keep)) & 0xff;
    if ((bytes[i] & ~mask & 0xff) !== 0) return true;
  }
  return false;
}

/** The problem with one entry, or undefined when OpenSSH accepts it. */
function entryProblem(entry: string): string | undefined {
  const [address, prefixText, extra] = entry.split('/');
  if (extra !== undefined) return `"${entry}" has more than one "/"`;
  const v4 = isIPv4(address);
  if (!v4 && !isIPv6(address)) return `"${entry}" is not an IPv4 or IPv6 address`;
  if (prefixText === undefined) return undefined;
  const max = v4 ? 32 : 128;
  if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > max)
    return `"${entry}": the prefix length must be 0–${max}`;
  const bytes = v4 ? ipv4Bytes(address) : ipv6Bytes(address);
  if (hostBitsSet(bytes, Number(prefixText)))
    return `"${entry}" has bits set beyond /${prefixText} (write the network address)`;
  return undefined;
}

/** Splits and trims a list; empty entries are dropped. */
export function cidrEntries(list: string): string[] {
  return list
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean);
}

/** What is wrong with the list, or undefined when every entry is valid. */
export function cidrListProblem(list: string): string | undefined {
  const entries = cidrEntries(list);
  if (entries.length === 0) return 'the list is empty';
  if (entries.length > MAX_ENTRIES) return `at most ${MAX_ENTRIES} entries`;
  for (const e of entries) {
    const problem = entryProblem(e);
    if (problem) return problem;
  }
  return undefined;
}

/** The list as OpenSSH wants it: entries joined by commas, no spaces. */
export const normalizeCidrList = (list: string): string => cidrEntries(list).join(',');
