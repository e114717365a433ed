/// <reference lib="dom" />
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import type { BrowserContext, Page } from 'playwright-core';
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.ts';
import { startTestGateway, type TestGateway } from '../support/in-process-gateway.ts';
import { temporaryDirectory } from '../support/processes.ts';
import { adminCall, createAdminToken } from '../support/admin-client.ts';
import { chromiumCheck, launchChromium, screenshot, SCREENSHOTS, unlabelledControls } from '../support/browser.ts';
import { describeNeeding } from '../support/required-service.ts';
import { buildDashboard } from '../../scripts/build-dashboard.ts';

async function gatewayStatus(url: string, key: string): Promise<{ status: number; code?: string }> {
  const response = await request(url, { headers: { authorization: `Bearer ${key}` } });
  const body = await response.body.text();
  return response.statusCode === 200 ? { status: 200 } : { status: response.statusCode, code: (JSON.parse(body) as { code: string }).code };
}

async function waitFor(predicate: () => Promise<boolean>, limit = 3000): Promise<void> {
  const started = Date.now();
  while (!(await predicate())) {
    if (Date.now() - started > limit) throw new Error(`condition not met within ${limit} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

// Skipped without Chromium, except in CI (CI=1), where a missing browser must fail the run.
describeNeeding(chromiumCheck(), 'dashboard in Chromium', () => {
  const directory = temporaryDirectory();
  let upstream: RecordingUpstream;
  let gateway: TestGateway;
  let admin: string;
  let adminToken: string;
  let context: BrowserContext;
  let closeBrowser: () => Promise<void>;
  let page: Page;
  const problems: string[] = [];
  let issuedKey = '';
  let issuedId = '';

  before(async () => {
    await buildDashboard();
    upstream = await startRecordingUpstream();
    gateway = await startTestGateway(upstream.url, join(directory.path, 'keys.db'), { env: { PORTCULLIS_USAGE_FLUSH_INTERVAL: '200ms' } });
    admin = gateway.gateway.admin!.url;
    adminToken = (await createAdminToken(gateway.gateway.store, 'write', 'e2e operator')).token;
    ({ context, close: closeBrowser } = await launchChromium());
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: admin });
    page = await context.newPage();
    // Any script error or Content-Security-Policy violation fails the run.
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error' && !/Failed to load resource: the server responded with a status of 401/.test(message.text())) problems.push(`console: ${message.text()}`);
    });
  });
  after(async () => {
    await closeBrowser?.();
    await gateway?.stop();
    await upstream?.close();
    directory.remove();
  });

  it('logs in with an admin token, using only the keyboard; the session cookie is HttpOnly, Secure and SameSite=Strict', async () => {
    await page.goto(`${admin}/`);
    await page.getByLabel('Admin token').waitFor();
    await screenshot(page, '01-login');
    assert.deepEqual(await unlabelledControls(page), []);
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'token');
    await page.keyboard.type(adminToken);
    await page.keyboard.press('Enter');
    // The landing page is the overview.
    await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();

    const cookies = await context.cookies(admin);
    const session = cookies.find((cookie) => cookie.name === '__Host-portcullis_session');
    // Chromium treats http://127.0.0.1 as a secure context, so it stores a Secure cookie from it.
    assert.ok(session, `session cookie stored: ${JSON.stringify(cookies.map((cookie) => cookie.name))}`);
    assert.equal(session.secure, true);
    assert.equal(session.httpOnly, true);
    assert.equal(session.sameSite, 'Strict');
    assert.equal(await page.evaluate(() => document.cookie), '', 'scripts cannot read the session cookie');
    assert.equal(await page.evaluate(() => window.isSecureContext), true);
  });

  it('creates a key and shows it once, with a working copy button', async () => {
    await page.getByRole('link', { name: 'Create key' }).first().click();
    await page.getByLabel('Client name').fill('web-e2e');
    await page.getByLabel('Tags').fill('frontend, e2e');
    await page.getByLabel('Expires').selectOption('30d');
    assert.deepEqual(await unlabelledControls(page), []);
    await screenshot(page, '02-create-key');
    await page.getByRole('button', { name: 'Create key' }).click();
    const secret = page.getByLabel('API key for web-e2e');
    await secret.waitFor();
    issuedKey = await secret.inputValue();
    assert.match(issuedKey, /^pcl_[A-Za-z0-9]{49}$/);
    await page.getByRole('button', { name: 'Copy' }).click();
    await page.getByRole('button', { name: 'Copied' }).waitFor();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), issuedKey);
    await screenshot(page, '03-key-shown-once');
    assert.equal((await gatewayStatus(`${gateway.url}/hello`, issuedKey)).status, 200);

    await page.getByRole('link', { name: /show the key’s page/ }).click();
    await page.getByRole('heading', { name: /web-e2e/ }).waitFor();
    issuedId = /#\/keys\/(key_\w+)/.exec(page.url())![1]!;
    // Shown once: the key's page never shows it again.
    assert.equal(await page.content().then((html) => html.includes(issuedKey)), false);
  });

  it('shows the key\'s usage after requests through the gateway', async () => {
    for (let i = 0; i < 5; i++) assert.equal((await gatewayStatus(`${gateway.url}/data/${i}`, issuedKey)).status, 200);
    await gateway.gateway.flushUsage();
    await page.getByLabel('Period', { exact: true }).selectOption('6h');
    await page.getByLabel('Period', { exact: true }).selectOption('1h');
    const requests = page.locator('.stats div', { hasText: 'Requests' }).locator('dd');
    await waitFor(async () => Number(await requests.textContent()) >= 6);
    assert.equal(await page.locator('.chart-area canvas').count(), 1, 'the chart is drawn');
    await waitFor(async () => /[1-9]\d* requests, 0 refused, last hour/.test((await page.locator('.chart-area').getAttribute('aria-label')) ?? ''));
    assert.equal(await page.getByRole('cell', { name: '127.0.0.1' }).count(), 1, 'recent address listed');
    assert.match((await page.locator('.settings').textContent()) ?? '', /frontend, e2e/);
    assert.deepEqual(await unlabelledControls(page), []);
    await screenshot(page, '04-key-detail');
  });

  it('updates live when a key changes elsewhere', async () => {
    await page.goto(`${admin}/#/keys`);
    await page.getByRole('heading', { name: 'Keys' }).waitFor();
    await page.locator('.live-on').waitFor();
    // Another operator creates a key through the API: it appears without a reload.
    await adminCall(admin, 'POST', '/api/keys', { token: adminToken, body: { name: 'made-elsewhere', tags: ['e2e'] } });
    await page.getByRole('link', { name: 'made-elsewhere' }).waitFor({ timeout: 3000 });
    await page.getByLabel('Search').fill('e2e');
    await page.getByRole('button', { name: 'Filter' }).click();
    // web-e2e was listed before the filter too: wait for the filtered list to replace the full one.
    await page.getByRole('link', { name: 'made-elsewhere' }).waitFor({ state: 'detached', timeout: 3000 });
    await page.getByRole('link', { name: 'web-e2e' }).waitFor();
    assert.equal(await page.getByRole('link', { name: 'made-elsewhere' }).count(), 0);
    await page.getByRole('link', { name: 'Clear' }).click();
    await page.getByRole('link', { name: 'made-elsewhere' }).waitFor();
    assert.deepEqual(await unlabelledControls(page), []);
    await screenshot(page, '05-keys');
  });

  it('revokes the key with a reason, and the gateway refuses it', async () => {
    await page.goto(`${admin}/#/keys/${issuedId}`);
    await page.getByRole('heading', { name: /web-e2e/ }).waitFor();
    await page.getByRole('button', { name: 'Revoke' }).click();
    const dialog = page.getByRole('dialog', { name: /Revoke “web-e2e”/ });
    await dialog.waitFor();
    // Escape closes the dialog without revoking; the button opens it again.
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
    await page.getByRole('button', { name: 'Revoke' }).click();
    await dialog.getByLabel(/Reason/).fill('e2e: laptop lost');
    await screenshot(page, '06-revoke-dialog');
    await dialog.getByRole('button', { name: 'Revoke key' }).click();
    await page.locator('h1 .badge-revoked').waitFor();
    await page.getByText('“e2e: laptop lost”').first().waitFor();
    await waitFor(async () => (await gatewayStatus(`${gateway.url}/hello`, issuedKey)).code === 'key_revoked');
    await screenshot(page, '07-key-revoked');
  });

  it('rotates a key: the replacement is shown once and both work during the grace period', async () => {
    const { body: original } = await adminCall<{ id: string; key: string }>(admin, 'POST', '/api/keys', { token: adminToken, body: { name: 'rotate-me', tags: ['e2e'] } });
    await page.goto(`${admin}/#/keys/${original.id}`);
    await page.getByRole('heading', { name: /rotate-me/ }).waitFor();
    await page.getByRole('button', { name: 'Rotate' }).click();
    await page.getByLabel('Grace period').selectOption('15m');
    await page.getByRole('button', { name: 'Rotate key' }).click();
    const replacement = await page.getByLabel('New API key for rotate-me').inputValue();
    assert.match(replacement, /^pcl_/);
    assert.equal((await gatewayStatus(`${gateway.url}/r`, replacement)).status, 200);
    assert.equal((await gatewayStatus(`${gateway.url}/r`, original.key)).status, 200);
    await screenshot(page, '08-rotated');
  });

  /** Holds the browser's requests for `url` until `release` is called (once or more). */
  async function holdAnswers(url: string): Promise<{ asked: () => boolean; release: () => Promise<void> }> {
    let open = () => {};
    const held = new Promise<void>((resolve) => (open = resolve));
    const sent: Array<Promise<void>> = [];
    let released: Promise<void> | null = null;
    await page.route(url, (route) => {
      sent.push(held.then(() => route.continue()));
    });
    return {
      asked: () => sent.length > 0,
      release: () => {
        released ??= (async () => {
          open();
          await Promise.all(sent);
          await page.unroute(url);
        })();
        return released;
      },
    };
  }

  it('shows the key its address names, even when the answer for the key shown before comes last', async () => {
    const { body: late } = await adminCall<{ id: string }>(admin, 'POST', '/api/keys', { token: adminToken, body: { name: 'answered-late', tags: ['e2e'] } });
    const { body: first } = await adminCall<{ id: string }>(admin, 'POST', '/api/keys', { token: adminToken, body: { name: 'answered-first', tags: ['e2e'] } });
    const lateRecord = `${admin}/api/keys/${late.id}`;
    const hold = await holdAnswers(lateRecord);
    try {
      await page.goto(`${admin}/#/keys/${late.id}`);
      await waitFor(async () => hold.asked());
      // The operator moves on before the first key's record arrives; the page stays mounted.
      await page.goto(`${admin}/#/keys/${first.id}`);
      await page.getByRole('heading', { level: 1, name: /answered-first/ }).waitFor();
      const answered = page.waitForResponse(lateRecord);
      await hold.release();
      await answered;
      // Give the page's handlers of that answer a few turns to run.
      await page.evaluate(() => new Promise((resolve) => setTimeout(resolve, 100)));
      assert.equal(await page.getByRole('heading', { level: 1, name: /answered-late/ }).count(), 0, 'the late answer replaced the page of the key the address names');
      assert.equal(await page.getByRole('heading', { level: 1, name: /answered-first/ }).count(), 1);
    } finally {
      await hold.release();
    }
  });

  it('does not show the error of the key shown before while the next key loads', async () => {
    const { body: next } = await adminCall<{ id: string }>(admin, 'POST', '/api/keys', { token: adminToken, body: { name: 'after-an-error', tags: ['e2e'] } });
    const before = problems.length;
    await page.goto(`${admin}/#/keys/key_doesnotexist0000000000`);
    await page.locator('.notice-error').first().waitFor();
    // The browser reports the 404 this test asks for (wait for it, so it is not counted later); any other problem is kept.
    const isThe404 = (problem: string) => /status of 404/.test(problem);
    await waitFor(async () => problems.slice(before).some(isThe404));
    problems.push(...problems.splice(before).filter((problem) => !isThe404(problem)));
    const hold = await holdAnswers(`${admin}/api/keys/${next.id}`);
    try {
      await page.goto(`${admin}/#/keys/${next.id}`);
      await waitFor(async () => hold.asked());
      assert.equal(await page.locator('.notice-error').count(), 0, 'the unknown key\'s error is still shown');
      await page.getByText('Loading key…').waitFor();
    } finally {
      await hold.release();
    }
    await page.getByRole('heading', { level: 1, name: /after-an-error/ }).waitFor();
  });

  it('revokes every key of a tag from the filtered list', async () => {
    const { body: tagged } = await adminCall<{ key: string }>(admin, 'POST', '/api/keys', { token: adminToken, body: { name: 'batch-member', tags: ['batch-9'] } });
    await page.goto(`${admin}/#/keys?tag=batch-9`);
    await page.getByRole('link', { name: 'batch-member' }).waitFor();
    await page.getByRole('button', { name: /Revoke all keys tagged/ }).click();
    await page.getByRole('dialog').getByLabel(/Reason/).fill('batch leaked');
    await page.getByRole('button', { name: 'Revoke all', exact: true }).click();
    await page.getByText('Revoked 1 key tagged “batch-9”').waitFor();
    await waitFor(async () => (await gatewayStatus(`${gateway.url}/b`, tagged.key)).code === 'key_revoked');
  });

  it('shows the audit log with who did what, and verifies its chain', async () => {
    await page.getByRole('link', { name: 'Audit log' }).click();
    await page.getByRole('heading', { name: 'Audit log' }).waitFor();
    await page.getByRole('cell', { name: 'e2e: laptop lost' }).waitFor();
    await page.getByRole('button', { name: 'Verify chain' }).click();
    await page.getByText(/Audit log intact: \d+ entries/).waitFor();
    await screenshot(page, '09-audit');
  });

  it('works at phone width', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    for (const [path, name, heading] of [['/keys', '10-phone-keys', 'Keys'], [`/keys/${issuedId}`, '11-phone-key-detail', 'web-e2e'], ['/audit', '12-phone-audit', 'Audit log']] as const) {
      await page.goto(`${admin}/#${path}`);
      await page.getByRole('heading', { name: new RegExp(heading) }).first().waitFor();
      await page.waitForTimeout(150);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 0, `${path} is ${overflow}px wider than the phone screen`);
      await screenshot(page, name);
    }
    await page.setViewportSize({ width: 1280, height: 860 });
  });

  it('logs out, and the session no longer works', async () => {
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByLabel('Admin token').waitFor();
    const status = await page.evaluate(async () => (await fetch('/api/keys')).status);
    assert.equal(status, 401);
  });

  it('raised no script errors and no Content-Security-Policy violations', () => {
    assert.deepEqual(problems, []);
    assert.ok(existsSync(join(SCREENSHOTS, '04-key-detail.png')));
  });
});
