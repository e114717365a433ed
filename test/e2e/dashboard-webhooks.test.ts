/// <reference lib="dom" />
/**
 * The dashboard's webhooks view in Chromium: the configured endpoint is listed (read-only), a
 * delivery the receiver refused shows as failed with its attempts and last answer; an operator
 * redelivers it from the view and the receiver gets the same message (same `webhook-id`) once
 * more. Accessible in both themes (axe), with screenshots.
 */
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.ts';
import { createKeyInStore, startTestGateway, type TestGateway } from '../support/in-process-gateway.ts';
import { temporaryDirectory } from '../support/processes.ts';
import { createAdminToken } from '../support/admin-client.ts';
import { waitFor } from '../support/gateway-probes.ts';
import { chromiumCheck, launchChromium, unlabelledControls } from '../support/browser.ts';
import { checkBothThemes } from '../support/page-checks.ts';
import { describeNeeding } from '../support/required-service.ts';
import { CLI_ACTOR } from '../../src/store/audit-log.ts';
import { buildDashboard } from '../../scripts/build-dashboard.ts';
import { writeWebhookConfig } from '../support/webhook-config-file.ts';

const SECRET = `whsec_${Buffer.from('a test secret of 32 bytes, ok!!!').toString('base64')}`;

/** A receiver answering `status` (changeable), recording each request's webhook-id. */
async function startReceiver() {
  const receiver = { ids: [] as string[], status: 503, url: '', server: null as Server | null };
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      receiver.ids.push(String(req.headers['webhook-id']));
      res.statusCode = receiver.status;
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.server = server;
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`;
  return receiver;
}

describeNeeding(chromiumCheck(), 'dashboard: the webhooks view in Chromium', () => {
  const directory = temporaryDirectory();
  const storePath = join(directory.path, 'keys.db');
  let upstream: RecordingUpstream;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let gateway: TestGateway;
  let context: BrowserContext;
  let closeBrowser: () => Promise<void>;
  let page: Page;
  let readerToken: string;
  const problems: string[] = [];

  before(async () => {
    await buildDashboard();
    upstream = await startRecordingUpstream();
    receiver = await startReceiver();
    writeWebhookConfig(directory.path, { url: receiver.url, secret: SECRET, events: ['key.revoked', 'key.expiring'], settings: ['pollInterval: 50ms', 'maxAttempts: 1'] });
    gateway = await startTestGateway(upstream.url, storePath, { env: { PORTCULLIS_CONFIG: join(directory.path, 'portcullis.yaml') } });
    const operator = await createAdminToken(gateway.gateway.store, 'write', 'e2e operator');
    readerToken = (await createAdminToken(gateway.gateway.store, 'read', 'e2e reader')).token;
    ({ context, close: closeBrowser } = await launchChromium());
    page = await context.newPage();
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error' && !/status of 401|Failed to load resource/.test(message.text())) problems.push(`console: ${message.text()}`);
    });
    await page.goto(`${gateway.gateway.admin!.url}/`);
    await page.getByLabel('Admin token').fill(operator.token);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
  });
  after(async () => {
    await closeBrowser?.();
    await gateway?.stop();
    await upstream?.close();
    await new Promise((resolve) => receiver?.server?.close(resolve));
    directory.remove();
  });

  it('shows the endpoint and a failed delivery, and redelivers it from the view', async () => {
    const key = await createKeyInStore(storePath, { name: 'partner-sync' });
    await gateway.gateway.store.revokeKey(key.id, 'rotated out', Date.now(), CLI_ACTOR);
    await waitFor(async () => receiver.ids.length === 1, 5000, 'the receiver refused the first attempt');
    const messageId = receiver.ids[0]!;
    await waitFor(async () => (await gateway.gateway.store.listAuditEntries({ target: key.id })).length > 0, 1000, 'audited');

    await page.getByRole('link', { name: 'Webhooks' }).click();
    await page.getByRole('heading', { level: 1, name: 'Webhooks' }).waitFor();
    assert.match(await page.locator('ul.plain-list').innerText(), new RegExp(`${receiver.url.replace(/[.]/g, '\\.')}[\\s\\S]*key\\.revoked, key\\.expiring`));
    const row = page.locator(`tr[data-message="${messageId}"]`);
    await row.getByText('failed').waitFor();
    assert.match(await row.innerText(), /key\.revoked[\s\S]*failed[\s\S]*\b1\b[\s\S]*answered 503/);
    assert.deepEqual(await unlabelledControls(page), []);
    assert.deepEqual(await checkBothThemes(page, 'webhooks'), []);

    receiver.status = 204;
    await row.getByRole('button', { name: `Redeliver key.revoked ${messageId} to ${receiver.url}` }).click();
    await page.getByText(`key.revoked to ${receiver.url} will be sent again.`).waitFor();
    await waitFor(async () => receiver.ids.length === 2, 5000, 'sent again');
    assert.deepEqual(receiver.ids, [messageId, messageId], 'the same message, once more');
    await page.getByRole('link', { name: 'Incidents' }).click();
    await page.getByRole('link', { name: 'Webhooks' }).click();
    await page.locator(`tr[data-message="${messageId}"]`).getByText('delivered').waitFor();
    assert.match(await page.locator(`tr[data-message="${messageId}"]`).innerText(), /delivered[\s\S]*\b1\b[\s\S]*answered 204/);
    assert.deepEqual(problems, []);
  });

  it('shows a read token the log without a Redeliver button', async () => {
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByLabel('Admin token').fill(readerToken);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByText('e2e reader').waitFor();
    await page.getByRole('link', { name: 'Webhooks' }).click();
    await page.getByRole('heading', { level: 1, name: 'Webhooks' }).waitFor();
    await page.locator('tr[data-message]').first().getByText('delivered').waitFor();
    assert.equal(await page.getByRole('button', { name: /^Redeliver/ }).count(), 0);
    assert.deepEqual(problems, []);
  });
});
