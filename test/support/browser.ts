/// <reference lib="dom" />
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { PROJECT_ROOT } from './processes.ts';
import { findExecutable, type ServiceCheck } from './required-service.ts';

/**
 * Debian's Chromium (`apt-get install chromium`; playwright-core downloads no browser):
 * PORTCULLIS_CHROMIUM when set, otherwise `chromium` on PATH.
 */
export const CHROMIUM = process.env.PORTCULLIS_CHROMIUM ?? findExecutable('chromium') ?? 'chromium';
/** Screenshots land here (git-ignored), one per page, for a person to look at. */
export const SCREENSHOTS = join(PROJECT_ROOT, 'test-results');

/** Whether the browser tests can run, for `describeNeeding`. */
export function chromiumCheck(): ServiceCheck {
  const service = 'Chromium';
  if (findExecutable(CHROMIUM) !== null) return { service, unavailable: null };
  return {
    service,
    unavailable:
      process.env.PORTCULLIS_CHROMIUM === undefined
        ? 'chromium not found on PATH; install with: apt-get install chromium (or set PORTCULLIS_CHROMIUM to a Chromium binary)'
        : `PORTCULLIS_CHROMIUM=${process.env.PORTCULLIS_CHROMIUM} is not an executable file`,
  };
}

/**
 * Headless Chromium with a fresh profile. Without these flags it tries to reach the network
 * (component updates, sync, QUIC), which stalls on a machine that has none.
 */
export async function launchChromium(viewport = { width: 1280, height: 860 }, extraArgs: readonly string[] = []): Promise<{ context: BrowserContext; close: () => Promise<void> }> {
  const profile = mkdtempSync(join(tmpdir(), 'portcullis-chromium-'));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: findExecutable(CHROMIUM) ?? CHROMIUM,
      headless: true,
      viewport,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync', '--disable-quic', ...extraArgs],
    });
  } catch (error) {
    rmSync(profile, { recursive: true, force: true });
    throw error;
  }
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

/** Every input, select and textarea on the page has a label a screen reader announces. */
export async function unlabelledControls(page: Page): Promise<string[]> {
  return page.evaluate(() =>
    [...document.querySelectorAll('input, select, textarea')]
      .filter((element) => (element as HTMLInputElement).labels?.length === 0 && !element.getAttribute('aria-label'))
      .map((element) => element.outerHTML.slice(0, 80)),
  );
}
