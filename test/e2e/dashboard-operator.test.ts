/// <reference lib="dom" />
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.ts';
import { startTestGateway, type TestGateway } from '../support/in-process-gateway.ts';
import { runCli, temporaryDirectory } from '../support/processes.ts';
import { adminCall, createAdminToken } from '../support/admin-client.ts';
import { chromiumCheck, launchChromium, screenshot, unlabelledControls } from '../support/browser.ts';
import { checkBothThemes, seriousViolations } from '../support/page-checks.ts';
import { describeNeeding } from '../support/required-service.ts';
import { createCertificateAuthority, issueClientCertificate } from '../../src/certs/dev-certificates.ts';
import { buildDashboard } from '../../scripts/build-dashboard.ts';

const ORDERS_API = resolve(import.meta.dirname, '..', 'fixtures', 'openapi', 'orders-api.yaml');

interface KeyJson { id: string; name: string; status: string; tags: string[]; scopes: string[]; allowedCidrs: string[]; rateLimit: string | null; quota: string | null; certFingerprint: string | null; expiresAt: string | null; metadata: Record<string, unknown>; rotatedTo?: string | null }
interface AuditJson { action: string; target: string; details: Record<string, unknown> }

// Skipped without Chromium, except in CI (CI=1), where a missing browser must fail the run.
describeNeeding(chromiumCheck(), 'dashboard: an operator\'s flows in Chromium', () => {
  const directory = temporaryDirectory();
  const storePath = join(directory.path, 'keys.db');
  let upstream: RecordingUpstream;
  let gateway: TestGateway;
  let admin: string;
  let operator: { id: string; token: string };
  let context: BrowserContext;
  let closeBrowser: () => Promise<void>;
  let page: Page;
  const problems: string[] = [];
  const accessibility: string[] = [];
  let createdId = '';

  const api = <T>(method: string, path: string, body?: unknown) => adminCall<T>(admin, method, path, { token: operator.token, body });
  const open = async (path: string, heading: string | RegExp) => {
    await page.goto(`${admin}/#${path}`);
    await page.getByRole('heading', { level: 1, name: heading }).waitFor();
  };

  before(async () => {
    await buildDashboard();
    upstream = await startRecordingUpstream();
    gateway = await startTestGateway(upstream.url, storePath, { env: { PORTCULLIS_USAGE_FLUSH_INTERVAL: '200ms', PORTCULLIS_OPENAPI_FILE: ORDERS_API } });
    admin = gateway.gateway.admin!.url;
    operator = await createAdminToken(gateway.gateway.store, 'write', 'e2e operator');
    for (const [index, name] of ['alpha-web', 'bravo-ios', 'charlie-batch', 'delta-cron'].entries()) {
      await api('POST', '/api/keys', { name, tags: index % 2 === 0 ? ['fleet'] : ['mobile'], ...(index === 3 ? { expiresIn: '3d' } : {}) });
    }
    ({ context, close: closeBrowser } = await launchChromium());
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: admin });
    page = await context.newPage();
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('console', (message) => {
      // 401 before login and the refused loads of the offline test are expected.
      if (message.type() === 'error' && !/status of 401|net::ERR_FAILED|Failed to load resource/.test(message.text())) problems.push(`console: ${message.text()}`);
    });
    await page.goto(`${admin}/`);
    await page.getByLabel('Admin token').waitFor();
    accessibility.push(...(await checkBothThemes(page, 'op-00-login')));
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

  it('lands on the overview: traffic by code, top keys, expiring keys, revocations and the nodes', async () => {
    const { body: keys } = await api<{ items: KeyJson[] }>('GET', '/api/keys?sort=name&order=asc');
    const alpha = keys.items.find((key) => key.name === 'alpha-web')!;
    await api('POST', `/api/keys/${keys.items.find((key) => key.name === 'charlie-batch')!.id}/revoke`, { reason: 'batch host retired' });
    await gateway.gateway.store.recordUsageMinutes([{ keyId: alpha.id, minute: Date.now() - (Date.now() % 60_000) - 120_000, requests: 40, bytesIn: 0, bytesOut: 4000, denials: { rate_limited: 6, scope_missing: 2 }, addresses: ['192.0.2.10'] }]);
    await page.getByLabel('Period').selectOption('1h');
    await page.locator('.chart-area canvas').first().waitFor();
    await page.getByText('Summing older usage').waitFor({ state: 'detached' }).catch(() => {});
    await page.getByRole('link', { name: 'alpha-web' }).first().waitFor();
    assert.match((await page.locator('.chart-area').getAttribute('aria-label')) ?? '', /40 requests, 8 refused, last hour; refusals by code: rate_limited 6, scope_missing 2/);
    assert.match((await page.locator('#expiring-title').locator('..').textContent()) ?? '', /delta-cron/);
    assert.match((await page.locator('#revocations-title').locator('..').textContent()) ?? '', /charlie-batch.*batch host retired/);
    const nodes = page.getByRole('region', { name: 'Nodes' });
    await nodes.getByText('1 node', { exact: true }).waitFor();
    const row = nodes.getByRole('row').nth(1);
    assert.match((await row.textContent()) ?? '', /this node.*Healthy.*reachable.*at \d+.*not used: limits in memory.*now/s);
    accessibility.push(...(await checkBothThemes(page, 'op-01-overview')));
  });

  it('creates a key with every setting; field messages are the admin API\'s; `keys show --json` has them all', async () => {
    await open('/keys/new', 'Create key');
    const issuer = await createCertificateAuthority('e2e CA');
    const client = await issueClientCertificate(issuer, 'e2e-client');
    const fingerprint = new X509Certificate(client.cert).fingerprint256.replaceAll(':', '').toLowerCase();
    await page.getByLabel('Client name').fill('payments-worker-1');
    await page.getByLabel('Tags').fill('payments, eu');
    await page.getByLabel('Metadata').fill('{"owner": "team-payments", "ticket": "OPS-42"}');
    // Suggested from the OpenAPI document's security scopes.
    await page.getByRole('button', { name: 'orders:read' }).click();
    await page.getByLabel('Scopes', { exact: true }).fill(`${await page.getByLabel('Scopes', { exact: true }).inputValue()} orders:write`);
    await page.getByLabel('Allowed networks').fill('10.0.0.1/8\n2001:db8::/32');
    await page.getByLabel('Rate limit').fill('100/s burst 200');
    await page.getByLabel('Quota').fill('10000/day');
    await page.getByLabel('Client certificate').fill(client.cert);
    await page.getByLabel('Expires', { exact: true }).selectOption('30d');
    assert.deepEqual(await unlabelledControls(page), []);
    await page.getByRole('button', { name: 'Create key' }).click();
    // The CIDR with host bits set is refused beside its field, with the CLI's did-you-mean.
    const networkError = page.locator('#key-networks-error');
    await networkError.waitFor();
    assert.equal(await networkError.textContent(), 'allowedCidrs: entry 1: it has host bits set; did you mean 10.0.0.0/8?');
    assert.equal(await page.getByLabel('Allowed networks').getAttribute('aria-invalid'), 'true');
    await screenshot(page, 'op-02-create-refused-light');
    accessibility.push(...(await seriousViolations(page)).map((problem) => `create (refused): ${problem}`));
    await page.getByLabel('Allowed networks').fill('10.0.0.0/8\n2001:db8::/32');
    accessibility.push(...(await checkBothThemes(page, 'op-02-create-key')));
    await page.getByRole('button', { name: 'Create key' }).click();
    const secret = page.getByLabel('API key for payments-worker-1');
    await secret.waitFor();
    assert.match(await secret.inputValue(), /^pcl_/);
    await page.getByRole('link', { name: /show the key’s page/ }).click();
    await page.getByRole('heading', { level: 1, name: /payments-worker-1/ }).waitFor();
    createdId = /#\/keys\/(key_\w+)/.exec(page.url())![1]!;

    const shown = await runCli(['keys', 'show', createdId, '--store', storePath, '--json']);
    assert.equal(shown.code, 0, shown.stderr);
    const key = JSON.parse(shown.stdout) as KeyJson;
    assert.equal(key.name, 'payments-worker-1');
    assert.deepEqual(key.tags, ['payments', 'eu']);
    assert.deepEqual(key.scopes, ['orders:read', 'orders:write']);
    assert.deepEqual(key.allowedCidrs, ['10.0.0.0/8', '2001:db8::/32']);
    assert.equal(key.rateLimit, '100/s burst 200');
    assert.equal(key.quota, '10000/day');
    assert.equal(key.certFingerprint, fingerprint);
    assert.deepEqual(key.metadata, { owner: 'team-payments', ticket: 'OPS-42' });
    const expiresIn = Date.parse(key.expiresAt!) - Date.now();
    assert.ok(expiresIn > 29 * 86_400_000 && expiresIn <= 30 * 86_400_000, key.expiresAt!);
    accessibility.push(...(await checkBothThemes(page, 'op-03-key-detail')));
  });

  it('edits every setting of a key, with the same checks', async () => {
    await page.getByRole('link', { name: 'Edit' }).click();
    await page.getByRole('heading', { level: 1, name: /Edit “payments-worker-1”/ }).waitFor();
    await page.getByLabel('Rate limit').fill('fast');
    await page.getByLabel('Quota').fill('');
    await page.getByLabel('Client certificate').fill('AB:CD');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.locator('#key-rate-error').waitFor();
    assert.match((await page.locator('#key-rate-error').textContent()) ?? '', /^rateLimit: expected a rate such as 100\/s/);
    assert.match((await page.locator('#key-certificate-error').textContent()) ?? '', /^certFingerprint: expected a SHA-256 fingerprint/);
    accessibility.push(...(await checkBothThemes(page, 'op-04-edit-key-refused')));
    await page.getByLabel('Rate limit').fill('50/s');
    await page.getByLabel('Client certificate').fill('');
    await page.getByLabel('Scopes', { exact: true }).fill('orders:*');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.getByRole('heading', { level: 1, name: /payments-worker-1/ }).waitFor();
    const key = JSON.parse((await runCli(['keys', 'show', createdId, '--store', storePath, '--json'])).stdout) as KeyJson;
    assert.deepEqual([key.rateLimit, key.quota, key.certFingerprint, key.scopes], ['50/s', null, null, ['orders:*']]);
    await page.getByText('Changed: scopes, cert fingerprint, rate limit, quota').waitFor();
  });

  it('lists keys newest first with totals, sorts by each column, copies ids, and shows a rotating key with its successor', async () => {
    const { body: rotated } = await api<{ id: string }>('POST', `/api/keys/${createdId}/rotate`, { grace: '1h' });
    await open('/keys', 'Keys');
    await page.getByText(/^6 keys, 1 revoked, 1 rotating/).waitFor();
    // The rows of the listing the header shows, once it has loaded.
    const names = async () => {
      await page.locator('table.keys-table[aria-busy="false"]').waitFor();
      return page.locator('tbody .key-name').allTextContents();
    };
    assert.deepEqual((await names()).slice(0, 2), ['payments-worker-1', 'payments-worker-1'], 'newest first');
    await page.getByRole('button', { name: /^Name/ }).click();
    await page.waitForFunction(() => document.querySelector('th[aria-sort="ascending"]')?.textContent?.startsWith('Name'));
    assert.deepEqual(await names(), ['alpha-web', 'bravo-ios', 'charlie-batch', 'delta-cron', 'payments-worker-1', 'payments-worker-1']);
    await page.getByRole('button', { name: /^Name/ }).click();
    await page.waitForFunction(() => document.querySelector('th[aria-sort="descending"]')?.textContent?.startsWith('Name'));
    assert.equal((await names())[0], 'payments-worker-1');
    await page.getByRole('button', { name: /^Status/ }).click();
    await page.waitForFunction(() => document.querySelector('th[aria-sort="ascending"]')?.textContent?.startsWith('Status'));
    await names();
    assert.deepEqual(await page.locator('tbody .badge').allTextContents(), ['Active', 'Active', 'Active', 'Active', 'Rotating', 'Revoked']);
    assert.match(page.url(), /sort=status&order=asc/);
    const rotatingRow = page.locator('tbody tr', { has: page.locator('.badge-rotating') });
    assert.equal(await rotatingRow.getByRole('link', { name: 'successor' }).getAttribute('href'), `#/keys/${rotated.id}`);
    await page.getByRole('button', { name: /^Requests/ }).click();
    await page.waitForFunction(() => document.querySelector('th[aria-sort="descending"]')?.textContent?.startsWith('Requests'));
    assert.equal((await names())[0], 'alpha-web', 'the busiest key first');
    await page.getByRole('button', { name: /^Last used/ }).click();
    await page.getByRole('button', { name: /^Created/ }).click();
    await page.waitForFunction(() => document.querySelector('th[aria-sort]')?.textContent?.startsWith('Created'));
    await rotatingRow.getByRole('button', { name: /^Copy id of/ }).click();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), createdId);
    accessibility.push(...(await checkBothThemes(page, 'op-05-keys')));
  });

  it('revokes several keys at once, confirmed, as one change set', async () => {
    await open('/keys?sort=name&order=asc', 'Keys');
    await page.getByRole('checkbox', { name: 'Select alpha-web' }).check();
    await page.getByRole('checkbox', { name: 'Select bravo-ios' }).check();
    await page.getByText('2 keys selected').waitFor();
    await page.getByRole('button', { name: 'Revoke…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Revoke 2 keys?' });
    await dialog.waitFor();
    await dialog.getByLabel(/Reason/).fill('fleet compromised');
    accessibility.push(...(await checkBothThemes(page, 'op-06-bulk-revoke')));
    await dialog.getByRole('button', { name: 'Revoke 2 keys' }).click();
    const message = page.getByText(/^Revoked 2 keys \(change set chg_[\w-]+\)\./);
    await message.waitFor();
    const changeSet = /chg_[\w-]+/.exec((await message.textContent())!)![0];
    await page.getByText(/^6 keys, 3 revoked/).waitFor();
    const { body } = await api<{ items: AuditJson[] }>('GET', '/api/audit?action=key.revoked&limit=5');
    // One change: both audit entries carry the change set's id.
    const entries = body.items.filter((entry) => entry.details.changeSet === changeSet);
    const { body: keys } = await api<{ items: KeyJson[] }>('GET', '/api/keys?sort=name&order=asc&limit=2');
    assert.deepEqual(entries.map((entry) => entry.target).sort(), keys.items.map((key) => key.id).sort());
    assert.ok(keys.items.every((key) => key.status === 'revoked'));
  });

  it('filters the audit log by actor, action, key and time, names the ids, exports JSON Lines and CSV, and verifies the chain', async () => {
    await open('/audit', 'Audit log');
    await page.getByRole('cell', { name: /e2e operator/ }).first().waitFor();
    await page.getByLabel('Action').selectOption('key.revoked');
    await page.getByLabel('Actor').fill(operator.id);
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/action=key\.revoked/);
    await page.getByRole('cell', { name: 'fleet compromised' }).first().waitFor();
    await page.waitForFunction(() => document.querySelectorAll('tbody tr').length === 3);
    const targets = await page.locator('td[data-label="Target"] a').allTextContents();
    assert.deepEqual(targets.sort(), ['alpha-web', 'bravo-ios', 'charlie-batch']);
    await page.getByLabel('Key or token id').fill(createdId);
    await page.getByLabel('Action').selectOption('');
    await page.getByRole('button', { name: 'Filter' }).click();
    // The revocations above are also three rows: wait for the new filter's rows, not for any three.
    await page.waitForFunction(() => [...document.querySelectorAll('td[data-label="What"] .action')].map((cell) => cell.textContent).join('|') === 'Key rotated|Key changed|Key created');
    assert.deepEqual(await page.locator('td[data-label="What"] .action').allTextContents(), ['Key rotated', 'Key changed', 'Key created']);
    const future = new Date(Date.now() + 3_600_000);
    const local = new Date(future.getTime() - future.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
    await page.getByLabel('From').fill(local);
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.getByText('No entries match the filters.').waitFor();
    await page.getByLabel('From').fill('');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForFunction(() => document.querySelectorAll('tbody tr').length === 3);

    for (const [format, button] of [['jsonl', 'Export JSON Lines'], ['csv', 'Export CSV']] as const) {
      const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: button }).click()]);
      assert.match(download.suggestedFilename(), new RegExp(`^portcullis-audit-\\d{8}T\\d{6}\\.${format}$`));
      const text = readFileSync((await download.path())!, 'utf8');
      const lines = text.trim().split(/\r?\n/);
      if (format === 'jsonl') {
        const entries = lines.map((line) => JSON.parse(line) as AuditJson & { targetName: string; actorName: string });
        assert.deepEqual(entries.map((entry) => [entry.action, entry.target]), [['key.rotated', createdId], ['key.updated', createdId], ['key.created', createdId]]);
        assert.equal(entries[0]!.targetName, 'payments-worker-1');
        assert.equal(entries[0]!.actorName, 'e2e operator');
      } else {
        assert.equal(lines[0], 'seq,at,actor,actorName,address,action,target,targetName,reason,details,hash');
        assert.equal(lines.length, 4);
        assert.match(lines[1]!, /,e2e operator,127\.0\.0\.1,key\.rotated,key_\w+,payments-worker-1,/);
      }
    }
    await page.getByRole('button', { name: 'Verify chain' }).click();
    await page.getByText(/^Audit log intact: \d+ entries\. Head: seq \d+, hash [0-9a-f]{64}/).waitFor();
    const cli = await runCli(['audit', 'verify', '--store', storePath]);
    const head = /hash ([0-9a-f]{64})/.exec(cli.stdout)![1]!;
    assert.match((await page.locator('.notice-success').textContent()) ?? '', new RegExp(head));
    accessibility.push(...(await checkBothThemes(page, 'op-07-audit')));
  });

  it('creates an admin token (shown once), lists when tokens were last used, and revokes it', async () => {
    await open('/tokens', 'Admin tokens');
    await page.getByRole('cell', { name: 'e2e operator (you)' }).waitFor();
    await page.getByLabel('Who or what it is for').fill('ci-reader');
    await page.getByLabel('Role').selectOption('read');
    await page.getByRole('button', { name: 'Create token' }).click();
    const secret = page.getByLabel('Admin token for ci-reader');
    await secret.waitFor();
    const token = await secret.inputValue();
    assert.match(token, /^pcladmin_/);
    assert.equal((await adminCall(admin, 'GET', '/api/keys', { token })).status, 200);
    await page.getByRole('button', { name: 'I have stored it' }).click();
    const row = page.locator('tbody tr', { hasText: 'ci-reader' });
    await row.getByText('127.0.0.1').waitFor();
    accessibility.push(...(await checkBothThemes(page, 'op-08-tokens')));
    await row.getByRole('button', { name: 'Revoke ci-reader' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Revoke token' }).click();
    await row.getByText('Revoked').waitFor();
    assert.equal((await adminCall(admin, 'GET', '/api/keys', { token })).status, 401);
    const { body } = await api<{ items: Array<{ action: string; targetName: string; actorName: string }> }>('GET', '/api/audit?action=admin_token&limit=2');
    assert.deepEqual(body.items.map((entry) => [entry.action, entry.targetName, entry.actorName]), [['admin_token.revoked', 'ci-reader', 'e2e operator'], ['admin_token.created', 'ci-reader', 'e2e operator']]);
  });

  it('switches to dark mode and keeps the choice; System follows prefers-color-scheme', async (t) => {
    t.after(() => page.evaluate(() => localStorage.removeItem('portcullis-theme')));
    await open('/overview', 'Overview');
    const theme = () => page.evaluate(() => document.documentElement.dataset.theme);
    await page.emulateMedia({ colorScheme: 'light' });
    assert.equal(await theme(), 'light');
    await page.getByLabel('Colour theme').selectOption('dark');
    await page.waitForFunction(() => document.documentElement.dataset.theme === 'dark');
    const background = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    await page.reload();
    await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
    assert.equal(await theme(), 'dark', 'the choice is kept');
    assert.equal(await page.getByLabel('Colour theme').inputValue(), 'dark');
    assert.equal(await page.evaluate(() => getComputedStyle(document.body).backgroundColor), background);
    await page.getByLabel('Colour theme').selectOption('system');
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.waitForFunction(() => document.documentElement.dataset.theme === 'dark');
    await page.emulateMedia({ colorScheme: 'light' });
    await page.waitForFunction(() => document.documentElement.dataset.theme === 'light');
  });

  it('says so when the gateway cannot be reached, and comes back by itself', async () => {
    await open('/keys', 'Keys');
    await page.route('**/api/**', (route) => route.abort('connectionrefused'));
    await page.getByRole('button', { name: /^Name/ }).click();
    await page.getByText('The gateway cannot be reached.').waitFor();
    assert.equal(await page.getByText('Failed to fetch').count(), 0, 'never the browser\'s raw message');
    accessibility.push(...(await checkBothThemes(page, 'op-09-offline')));
    await page.unroute('**/api/**');
    await page.getByRole('button', { name: 'Retry now' }).click();
    await page.getByText('The gateway cannot be reached.').waitFor({ state: 'detached' });
    await page.getByRole('link', { name: 'alpha-web' }).waitFor();
  });

  it('works at phone width', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    for (const [path, name, heading] of [['/overview', 'op-10-phone-overview', 'Overview'], ['/keys', 'op-11-phone-keys', 'Keys'], ['/tokens', 'op-12-phone-tokens', 'Admin tokens']] as const) {
      await open(path, heading);
      await page.waitForTimeout(200);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 0, `${path} is ${overflow}px wider than the phone screen`);
      accessibility.push(...(await checkBothThemes(page, name)));
    }
    // The column headers are hidden on a phone; a select sorts instead.
    await open('/keys', 'Keys');
    await page.getByLabel('Sort', { exact: true }).selectOption('name.asc');
    await page.waitForURL(/sort=name&order=asc/);
    await page.locator('table.keys-table[aria-busy="false"]').waitFor();
    assert.equal(await page.locator('tbody .key-name').first().textContent(), 'alpha-web');
    await page.setViewportSize({ width: 1280, height: 860 });
  });

  it('has no serious or critical accessibility violations on any page, and raised no script or CSP errors', () => {
    assert.deepEqual(accessibility, []);
    assert.deepEqual(problems, []);
  });
});
