/**
 * A new client address for each call (within one test file): tests that throttle one address must
 * not find it again by chance, as random addresses sometimes did (a 429 now and then).
 */
let last = 0;

export function clientIp(): string {
  last += 1;
  return `10.0.${last >> 8}.${last & 255}`;
}
