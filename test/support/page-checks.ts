/// <reference lib="dom" />
import axe from 'axe-core';
import type { Page } from 'playwright-core';
import { screenshot } from './browser.ts';

/** axe-core's own script, as it ships it for injecting into pages. */
const AXE_SOURCE = axe.source;

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: Array<{ target: string[] }>;
}

/**
 * Runs axe-core in the page and returns its serious and critical violations, one line each.
 * The script is evaluated through the DevTools protocol, which the page's strict CSP (no
 * inline scripts) does not govern, so the page is checked exactly as it is served.
 */
export async function seriousViolations(page: Page): Promise<string[]> {
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(AXE_SOURCE);
  const violations = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(context: Document, options: object): Promise<{ violations: AxeViolation[] }> } }).axe;
    return (await axe.run(document, { resultTypes: ['violations'] })).violations;
  });
  return violations
    .filter((violation) => violation.impact === 'serious' || violation.impact === 'critical')
    .map((violation) => `${violation.impact} ${violation.id}: ${violation.help} (${violation.nodes.slice(0, 3).map((node) => node.target.join(' ')).join('; ')})`);
}

/**
 * Screenshots the page in the light and the dark theme, and checks each with axe. Returns the
 * violations of both. The theme is chosen with the dashboard's switch when the page has one
 * (and set back to System after), else by `prefers-color-scheme`.
 */
export async function checkBothThemes(page: Page, name: string, settle: () => Promise<void> = async () => {}): Promise<string[]> {
  const problems: string[] = [];
  const themeSwitch = page.getByLabel('Colour theme');
  const hasSwitch = (await themeSwitch.count()) === 1;
  for (const scheme of ['light', 'dark'] as const) {
    if (hasSwitch) await themeSwitch.selectOption(scheme);
    else await page.emulateMedia({ colorScheme: scheme });
    await page.waitForFunction((wanted) => document.documentElement.dataset.theme === wanted, scheme, { timeout: 5000 });
    await settle();
    // Charts redraw in the new colours on the next frame.
    await page.waitForTimeout(120);
    await screenshot(page, `${name}-${scheme}`);
    problems.push(...(await seriousViolations(page)).map((problem) => `${name} (${scheme}): ${problem}`));
  }
  if (hasSwitch) await themeSwitch.selectOption('system');
  await page.emulateMedia({ colorScheme: 'light' });
  return problems;
}
