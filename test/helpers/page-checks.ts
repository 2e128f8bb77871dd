/**
 * Checks every browser-facing page gets: axe-core finds no serious or critical violation, nothing
 * scrolls sideways (the phone width), and a full-page screenshot in /tmp/kw-pages-shots.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';

export const SHOTS = '/tmp/kw-pages-shots';
const AXE = readFileSync('node_modules/axe-core/axe.min.js', 'utf8');

/** axe-core on the page as it is: serious and critical violations (none expected). */
export async function axeProblems(page: Page): Promise<string[]> {
  await page.evaluate(AXE); // evaluated by DevTools, so the page's CSP (no inline scripts) does not apply
  const violations = await page.evaluate(
    async () =>
      (
        await (
          window as unknown as {
            axe: {
              run: (o: unknown) => Promise<{
                violations: { id: string; impact: string; nodes: { target: string[] }[] }[];
              }>;
            };
          }
        ).axe.run({ resultTypes: ['violations'] })
      ).violations,
  );
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.impact} ${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

/** Checks a page: axe, no sideways scrolling on the phone; and takes its screenshot. */
export async function check(page: Page, width: number, name: string): Promise<void> {
  await page.waitForLoadState('load');
  expect({ page: name, width, problems: await axeProblems(page) }).toEqual({
    page: name,
    width,
    problems: [],
  });
  const overflow = await page.evaluate(
    () => document.documentElement.scrollWidth - window.innerWidth,
  );
  expect({ page: name, width, overflow }).toEqual({ page: name, width, overflow: 0 });
  await page.screenshot({ path: join(SHOTS, `${width}-${name}.png`), fullPage: true });
}
