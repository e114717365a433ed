/// <reference lib="dom" />
/**
 * The dashboard's incidents view in Chromium: a key presented as leaked shows as an incident
 * with its evidence and status; an operator releases it from the view, and the key works again;
 * another incident's key is revoked from the view. Accessible in both themes (axe).
 */
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { request } from 'undici';
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.ts';
import { createKeyInStore, startTestGateway, type TestGateway } from '../support/in-process-gateway.ts';
import { temporaryDirectory } from '../support/processes.ts';
import { createAdminToken } from '../support/admin-client.ts';
import { callWithKey, waitFor } from '../support/gateway-probes.ts';
import { chromiumCheck, launchChromium, unlabelledControls } from '../support/browser.ts';
import { checkBothThemes } from '../support/page-checks.ts';
import { describeNeeding } from '../support/required-service.ts';
import { CLI_ACTOR } from '../../src/store/audit-log.ts';
import { buildDashboard } from '../../scripts/build-dashboard.ts';

describeNeeding(chromiumCheck(), 'dashboard: the incidents view in Chromium', () => {
  const directory = temporaryDirectory();
  const storePath = join(directory.path, 'keys.db');
  let upstream: RecordingUpstream;
  let gateway: TestGateway;
  let context: BrowserContext;
  let closeBrowser: () => Promise<void>;
  let page: Page;
  const problems: string[] = [];

  before(async () => {
    await buildDashboard();
    upstream = await startRecordingUpstream();
    gateway = await startTestGateway(upstream.url, storePath, { env: { PORTCULLIS_LEAKS_PRESENTATION_ENABLED: 'true' } });
    const operator = await createAdminToken(gateway.gateway.store, 'write', 'e2e operator');
    ({ context, close: closeBrowser } = await launchChromium());
    page = await context.newPage();
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error' && !/status of 401|Failed to load resource/.test(message.text())) problems.push(`console: ${message.text()}`);
    });
    const admin = gateway.gateway.admin!.url;
    await page.goto(`${admin}/`);
    await page.getByLabel('Admin token').fill(operator.token);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
  });
  after(async () => {
    await closeBrowser?.();
    await gateway?.stop();
    await upstream?.close();
    directory.remove();
  });

  it('shows a presented key as an incident, releases it from the view, and revokes another', async () => {
    const leaked = await createKeyInStore(storePath, { name: 'mobile-app' });
    const held = await createKeyInStore(storePath, { name: 'partner-sync' });
    const response = await request(`${gateway.url}/.well-known/portcullis/revoke-key`, { method: 'POST', body: JSON.stringify({ key: leaked.key, url: 'https://paste.example/raw/abc' }), headers: { 'content-type': 'application/json' } });
    await response.body.dump();
    await waitFor(async () => (await callWithKey(`${gateway.url}/q`, leaked.key)).code === 'key_quarantined', 3000, 'quarantined');
    await gateway.gateway.store.quarantineKey(held.id, 'seen in a support ticket', Date.now(), CLI_ACTOR);

    await page.getByRole('link', { name: 'Incidents' }).click();
    await page.getByRole('heading', { level: 1, name: 'Incidents' }).waitFor();
    const presented = page.locator('tr', { hasText: 'mobile-app' });
    await presented.waitFor();
    assert.match(await presented.innerText(), /Presented by its finder[\s\S]*https:\/\/paste\.example\/raw\/abc[\s\S]*from 127\.0\.0\.1[\s\S]*quarantined/);
    assert.equal(await page.locator('a[href*="paste.example"]').count(), 0, 'the reported URL is text, never a link');
    assert.deepEqual(await unlabelledControls(page), []);
    const accessibility = await checkBothThemes(page, 'incidents');
    assert.deepEqual(accessibility, []);

    await presented.getByRole('button', { name: 'Release mobile-app' }).click();
    await page.getByLabel('Reason (recorded in the audit log)').fill('our own test key');
    await page.getByRole('button', { name: 'Release key' }).click();
    await waitFor(async () => (await callWithKey(`${gateway.url}/q`, leaked.key)).status === 200, 3000, 'released: the key works again');
    await presented.getByText('active').waitFor();
    const released = (await gateway.gateway.store.listAuditEntries({ target: leaked.id })).find((entry) => entry.action === 'key.released');
    assert.equal(released?.reason, 'our own test key');

    const other = page.locator('tr', { hasText: 'partner-sync' });
    await other.getByRole('button', { name: 'Revoke partner-sync' }).click();
    await page.getByRole('button', { name: 'Revoke key' }).click();
    await waitFor(async () => (await callWithKey(`${gateway.url}/q`, held.key)).code === 'key_revoked', 3000, 'revoked');
    assert.deepEqual(problems, []);
  });
});
