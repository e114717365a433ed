/// <reference lib="dom" />
/**
 * The overview's "By API" card in Chromium: after real requests through a gateway (one API,
 * `default`), a table with a row header per API, its requests, forwarded and refused counts and
 * its most frequent refusal codes, and a caption for screen readers.
 */
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { buildDashboard } from '../../scripts/build-dashboard.ts';
import { createAdminToken } from '../support/admin-client.ts';
import { chromiumCheck, launchChromium, unlabelledControls } from '../support/browser.ts';
import { checkBothThemes } from '../support/page-checks.ts';
import { createKeyInStore, startTestGateway, type TestGateway } from '../support/in-process-gateway.ts';
import { temporaryDirectory } from '../support/processes.ts';
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.ts';
import { describeNeeding } from '../support/required-service.ts';

// Skipped without Chromium, except in CI (CI=1), where a missing browser must fail the run.
describeNeeding(chromiumCheck(), 'dashboard: usage by API', () => {
  const directory = temporaryDirectory();
  let upstream: RecordingUpstream;
  let gateway: TestGateway;
  let closeBrowser: () => Promise<void>;
  let page: Page;
  const problems: string[] = [];

  before(async () => {
    await buildDashboard();
    upstream = await startRecordingUpstream();
    const storePath = join(directory.path, 'keys.db');
    const key = await createKeyInStore(storePath, { name: 'web' });
    gateway = await startTestGateway(upstream.url, storePath);
    for (let i = 0; i < 4; i++) assert.equal((await fetch(`${gateway.url}/items/${i}`, { headers: { 'x-api-key': key.key } })).status, 200);
    for (let i = 0; i < 3; i++) assert.equal((await fetch(`${gateway.url}/items`)).status, 401);
    await gateway.gateway.flushUsage();
    const token = (await createAdminToken(gateway.gateway.store, 'read', 'e2e reader')).token;
    const launched = await launchChromium();
    closeBrowser = launched.close;
    page = await launched.context.newPage();
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error' && !/status of 401/.test(message.text())) problems.push(`console: ${message.text()}`);
    });
    await page.goto(`${gateway.gateway.admin!.url}/`);
    await page.getByLabel('Admin token').fill(token);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
  });
  after(async () => {
    await closeBrowser?.();
    await gateway?.stop();
    await upstream?.close();
    directory.remove();
  });

  it('shows each API\'s requests, forwarded, refused and top refusal codes in an accessible table', async () => {
    const card = page.getByRole('region', { name: 'By API' });
    await card.waitFor();
    const table = card.getByRole('table');
    assert.match((await table.locator('caption').textContent()) ?? '', /Requests per API/);
    const row = table.getByRole('row', { name: /default/ });
    assert.deepEqual(await row.getByRole('rowheader').allTextContents(), ['default']);
    assert.deepEqual(await row.getByRole('cell').allTextContents(), ['7', '4', '3', 'key_missing 3']);
    assert.deepEqual(await unlabelledControls(page), []);
    // axe finds no serious or critical violation (contrast included) in either colour theme.
    assert.deepEqual(await checkBothThemes(page, 'overview-by-api'), []);
    assert.deepEqual(problems, []);
  });
});
