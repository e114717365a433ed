/// <reference lib="dom" />
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.ts';
import { startTestGateway, type TestGateway } from '../support/in-process-gateway.ts';
import { temporaryDirectory } from '../support/processes.ts';
import { adminCall, createAdminToken } from '../support/admin-client.ts';
import { chromiumCheck, launchChromium, screenshot } from '../support/browser.ts';
import { checkBothThemes, seriousViolations } from '../support/page-checks.ts';
import { describeNeeding } from '../support/required-service.ts';
import { openKeyStore } from '../../src/store/open-key-store.ts';
import { mintKey } from '../../src/keys/mint-key.ts';
import { CLI_ACTOR } from '../../src/store/audit-log.ts';
import type { UsageMinute } from '../../src/store/usage-store.ts';
import { buildDashboard } from '../../scripts/build-dashboard.ts';

const KEYS = 1000;
const MINUTES = 1440;
/** The busiest tenth of the keys has traffic every minute; the rest every tenth minute. */
const BUSY = 100;

/** 1,000 keys and the last 24 hours of per-minute usage, written straight into the store. */
async function seed(storePath: string): Promise<{ rows: number }> {
  const store = await openKeyStore(storePath);
  await store.migrate();
  const now = Date.now();
  const ids: string[] = [];
  for (let index = 0; index < KEYS; index++) {
    const minted = mintKey('pcl');
    ids.push(minted.id);
    await store.createKey(
      {
        id: minted.id, digest: minted.digest, displayPrefix: minted.displayPrefix, name: `client-${String(index).padStart(4, '0')}`, tags: [index % 10 === 0 ? 'batch' : 'web'],
        scopes: [], allowedCidrs: [], certFingerprint: null, rateLimit: null, quota: null, metadata: {}, expiresAt: index % 97 === 0 ? now + 5 * 86_400_000 : null,
      },
      now - (KEYS - index) * 60_000,
      CLI_ACTOR,
    );
    if (index % 113 === 0) await store.revokeKey(minted.id, 'seeded revocation', now - index * 1000, CLI_ACTOR);
  }
  const first = now - (now % 60_000) - MINUTES * 60_000;
  let rows = 0;
  let batch: UsageMinute[] = [];
  for (let minute = 0; minute < MINUTES; minute++) {
    for (let key = 0; key < KEYS; key++) {
      if (key >= BUSY && (minute + key) % 10 !== 0) continue;
      const denials: Record<string, number> = {};
      if ((key + minute) % 17 === 0) denials.rate_limited = 2;
      if ((key + minute) % 53 === 0) denials.scope_missing = 1;
      if ((key + minute) % 211 === 0) denials.network_refused = 1;
      batch.push({ keyId: ids[key] as string, minute: first + minute * 60_000, requests: 1 + ((key * 7 + minute) % 50), bytesIn: 100, bytesOut: 1000, denials, addresses: [`10.0.${key % 250}.${minute % 4}`] });
      rows++;
    }
    if (minute % 60 === 59) {
      await store.recordUsageMinutes(batch);
      batch = [];
    }
  }
  await store.recordUsageMinutes(batch);
  await store.close();
  return { rows };
}

// Skipped without Chromium, except in CI (CI=1), where a missing browser must fail the run.
describeNeeding(chromiumCheck(), 'dashboard overview with 1,000 keys and a day of usage', () => {
  const directory = temporaryDirectory();
  const storePath = join(directory.path, 'keys.db');
  let upstream: RecordingUpstream;
  let gateway: TestGateway;
  let admin: string;
  let token: string;
  let context: BrowserContext;
  let closeBrowser: () => Promise<void>;
  let page: Page;

  /**
   * Milliseconds from `action` until the chart is drawn (every step of the period, summed in one
   * call) and the top keys are listed, and how long of that the browser waited for the
   * overview's one API call (request sent to response read).
   */
  async function timeOverview(action: () => Promise<unknown>, period = 'last 24 hours'): Promise<{ shown: number; api: number }> {
    const answered = page.waitForResponse((response) => response.url().includes('/api/overview?'));
    const started = performance.now();
    await action();
    await page.locator(`.chart-area[aria-label*="${period}"] canvas`).waitFor();
    await page.getByRole('region', { name: 'Top keys by traffic' }).getByRole('link').first().waitFor();
    const shown = performance.now() - started;
    const response = await answered;
    await response.finished();
    const timing = response.request().timing();
    return { shown, api: timing.responseEnd - timing.requestStart };
  }
  const timings: string[] = [];
  let coldLoad = Number.POSITIVE_INFINITY;
  let coldApi = Number.POSITIVE_INFINITY;

  before(async () => {
    await buildDashboard();
    const started = performance.now();
    const { rows } = await seed(storePath);
    process.stdout.write(`# seeded ${KEYS} keys and ${rows} usage minutes in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
    upstream = await startRecordingUpstream();
    gateway = await startTestGateway(upstream.url, storePath);
    admin = gateway.gateway.admin!.url;
    token = (await createAdminToken(gateway.gateway.store, 'read', 'load test')).token;
    ({ context, close: closeBrowser } = await launchChromium());
    page = await context.newPage();
    await page.goto(`${admin}/`);
    await page.getByLabel('Admin token').fill(token);
    // The landing page is the 24-hour overview, which nobody has looked at since the gateway started.
    const cold = await timeOverview(() => page.getByRole('button', { name: 'Log in' }).click());
    coldLoad = cold.shown;
    coldApi = cold.api;
    timings.push(`24 h, first look after start (log in to overview): shown in ${cold.shown.toFixed(0)} ms, of which GET /api/overview ${cold.api.toFixed(0)} ms`);
  });
  after(async () => {
    await closeBrowser?.();
    await gateway?.stop();
    await upstream?.close();
    directory.remove();
  });

  // Measured and reported, not asserted: speed is judged by benchmarks on a quiet machine, not
  // by a timed test on a shared one (the target is under 1 s on the test machine).
  it('shows the 24-hour overview after logging in, the first look after start (time reported)', (t) => {
    t.diagnostic(`cold load of the overview: ${coldLoad.toFixed(0)} ms (target: under 1000 ms), of which GET /api/overview ${coldApi.toFixed(0)} ms`);
    assert.ok(Number.isFinite(coldLoad) && coldLoad > 0, 'the overview was shown');
  });

  it('loads at every period, and reports how long it took', async () => {
    const reload = await timeOverview(() => page.reload());
    timings.push(`24 h, page reloaded: shown in ${reload.shown.toFixed(0)} ms, of which GET /api/overview ${reload.api.toFixed(0)} ms`);
    await page.getByRole('link', { name: 'Keys', exact: true }).click();
    await page.getByRole('heading', { level: 1, name: 'Keys' }).waitFor();
    const click = await timeOverview(() => page.getByRole('link', { name: 'Overview' }).click());
    timings.push(`24 h, from the Keys page by its link: shown in ${click.shown.toFixed(0)} ms`);
    const started = performance.now();
    const response = await adminCall<{ points: unknown[]; totals: { requests: number; keysWithTraffic: number } }>(admin, 'GET', '/api/overview?window=24h', { token });
    timings.push(`GET /api/overview?window=24h alone: ${(performance.now() - started).toFixed(0)} ms`);
    assert.equal(response.status, 200);
    assert.equal(response.body.points.length, 96);
    assert.ok(response.body.totals.requests > 0);
    assert.equal(response.body.totals.keysWithTraffic, KEYS);
    for (const [window, period] of [['1h', 'last hour'], ['7d', 'last 7 days']] as const) {
      const changed = await timeOverview(() => page.getByLabel('Period').selectOption(window), period);
      timings.push(`${window}, first look by the period picker: shown in ${changed.shown.toFixed(0)} ms`);
    }
    for (const line of timings) process.stdout.write(`# overview, ${KEYS} keys: ${line}\n`);
    await page.getByLabel('Period').selectOption('24h');
    await page.locator('.chart-area canvas').waitFor();
    await screenshot(page, 'load-overview-1000-keys-light');
    assert.deepEqual(await seriousViolations(page), []);
  });

  it('lists 1,000 keys sorted by requests, with totals', async () => {
    const started = performance.now();
    await page.goto(`${admin}/#/keys?sort=requests&order=desc`);
    await page.getByText(/^1,000 keys, 9 revoked/).waitFor();
    await page.locator('tbody tr').first().waitFor();
    process.stdout.write(`# keys page, 1,000 keys sorted by requests in 24 h: ${(performance.now() - started).toFixed(0)} ms\n`);
    const first = Number((await page.locator('tbody td[data-label="Requests"]').first().evaluate((cell) => cell.firstChild?.textContent ?? '')).replaceAll(',', ''));
    assert.ok(first > 0);
  });
  it('lists a second node sharing the store, and marks it missing once it stops', async () => {
    const second = await startTestGateway(upstream.url, storePath, { env: { PORTCULLIS_HEALTH_HEARTBEAT_INTERVAL: '200ms' } });
    const nodesNow = async () => (await adminCall<{ nodes: Array<{ self: boolean; state: string }> }>(admin, 'GET', '/api/overview?window=1h', { token })).body.nodes;
    const until = async (accept: (nodes: Array<{ self: boolean; state: string }>) => boolean) => {
      const deadline = Date.now() + 15_000;
      while (!accept(await nodesNow())) {
        assert.ok(Date.now() < deadline, JSON.stringify(await nodesNow()));
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    };
    const panel = page.getByRole('region', { name: 'Nodes' });
    try {
      await until((nodes) => nodes.length === 2 && nodes.every((node) => node.state === 'live'));
      await page.goto(`${admin}/#/overview?window=1h`);
      await panel.getByText('2 nodes', { exact: true }).waitFor();
      const rows = panel.locator('tbody tr');
      assert.equal(await rows.count(), 2);
      assert.match((await rows.nth(0).textContent()) ?? '', /this node.*Healthy/s);
      assert.match((await rows.nth(1).textContent()) ?? '', /Healthy.*reachable.*not used: limits in memory/s);
      assert.doesNotMatch((await rows.nth(1).textContent()) ?? '', /this node/);
    } finally {
      await second.stop();
    }
    await until((nodes) => nodes.some((node) => !node.self && node.state === 'missing'));
    await page.reload();
    await panel.getByText('2 nodes, 1 missing', { exact: true }).waitFor();
    assert.match((await panel.locator('tbody tr').nth(1).textContent()) ?? '', /Missing/);
    assert.deepEqual(await checkBothThemes(page, 'load-overview-two-nodes'), []);
  });
});
