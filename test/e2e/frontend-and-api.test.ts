/**
 * The whole story in a real browser: the example of examples/frontend-and-api, started by the
 * same code as `npm run demo` (stack.ts), driven with playwright-core and Debian's Chromium.
 *
 * - instance 1's page shows data fetched through Portcullis;
 * - revoking instance 2's key makes its page show "Error from API: key_revoked" within a
 *   second (plus at most one page refresh period), while instance 1 keeps working;
 * - the API cannot be called around Portcullis (mutual TLS, Portcullis's certificate only);
 * - Portcullis cannot be called without TLS, or from an address that is not allowlisted.
 *
 * Screenshots go to test-results/frontend-and-api/.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import { issueClientCertificate } from '../../src/certs/dev-certificates.ts';
import { EXAMPLE_FOLDER, freePorts, PROJECT_ROOT, runPortcullis, startStack, type RunningStack } from '../../examples/frontend-and-api/stack.ts';
import { chromiumCheck, launchChromium } from '../support/browser.ts';
import { describeNeeding } from '../support/required-service.ts';
const SCREENSHOTS = join(PROJECT_ROOT, 'test-results', 'frontend-and-api');
/** The page's refresh period (public/app.js). */
const REFRESH_MS = 500;
const STATUS = '#status';


interface Answer {
  status: number;
  body: string;
}

/** One HTTPS request with explicit TLS settings; rejects when the connection fails. */
function httpsGet(url: string, options: { ca: Buffer; cert?: Buffer; key?: Buffer; localAddress?: string; headers?: Record<string, string> }): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const outgoing = httpsRequest(url, { ...options, agent: false, timeout: 5000 }, (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    });
    outgoing.on('timeout', () => outgoing.destroy(new Error('timed out')));
    outgoing.on('error', reject);
    outgoing.end();
  });
}

function statusText(page: Page): Promise<string> {
  return page.locator(STATUS).innerText();
}

/**
 * Waits until an expression is true in the page. Not page.waitForFunction: given a string, it
 * evaluates it with eval inside the page, which the frontend's Content-Security-Policy forbids.
 */
async function waitInPage(page: Page, expression: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await page.evaluate(expression))) {
    if (Date.now() > deadline) throw new Error(`not true in ${timeoutMs} ms: ${expression}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The refresh counter shown on a working page. */
async function refreshCount(page: Page): Promise<number> {
  const match = /\(refresh (\d+)\)/.exec(await statusText(page));
  assert.ok(match, `the page shows data: ${await statusText(page)}`);
  return Number(match[1]);
}

// Chromium: PORTCULLIS_CHROMIUM or chromium on PATH; skipped without it unless CI is set.
describeNeeding(chromiumCheck(), 'frontend and API behind Portcullis, in a browser', () => {
  let stack: RunningStack;
  let context: BrowserContext;
  let closeBrowser: (() => Promise<void>) | undefined;
  let page1: Page;
  let page2: Page;
  const file = (name: string) => readFileSync(join(stack.certFolder, name));
  const shot = (page: Page, name: string) => page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });

  before(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    const [started, browser] = await Promise.allSettled([
      freePorts().then((ports) => startStack({ stateFolder: join(EXAMPLE_FOLDER, `.demo-e2e-${process.pid}`), ports })),
      launchChromium({ width: 900, height: 640 }),
    ]);
    // Whatever started is kept for `after` to stop, even when the other half failed.
    if (started.status === 'fulfilled') stack = started.value;
    if (browser.status === 'fulfilled') ({ context, close: closeBrowser } = browser.value);
    if (started.status === 'rejected') throw started.reason;
    if (browser.status === 'rejected') throw browser.reason;
    page1 = await context.newPage();
    page2 = await context.newPage();
    await Promise.all([page1.goto(stack.frontends[0].url), page2.goto(stack.frontends[1].url)]);
  });

  after(async () => {
    await closeBrowser?.();
    await stack?.stop();
    if (stack) rmSync(stack.stateFolder, { recursive: true, force: true });
  });

  it("instance 1's page shows data fetched through Portcullis", async () => {
    for (const [page, name] of [[page1, 'frontend-1'], [page2, 'frontend-2']] as const) {
      // servedTo is the key name Portcullis gave the API (X-Portcullis-Key-Name).
      await page.locator(STATUS, { hasText: `served to key "${name}"` }).waitFor({ timeout: 20_000 });
      assert.equal(await page.locator('#title').innerText(), `Shop, served by ${name}`);
      assert.deepEqual(await page.locator('#products td:first-child').allInnerTexts(), ['Oak desk', 'Reading lamp', 'Wool rug']);
    }
    await shot(page1, '1-instance-1-working');
  });

  it('an order that breaks the API contract is refused by Portcullis; a valid one is placed', async () => {
    await page1.locator('#order-quantity').fill('11');
    await page1.locator('button[type=submit]').click();
    await page1.locator('#order-result', { hasText: 'Order refused. Error from API: request_invalid (/body/quantity: must be <= 10)' }).waitFor({ timeout: 5000 });
    await shot(page1, '2-instance-1-order-refused');
    await page1.locator('#order-quantity').fill('2');
    await page1.locator('button[type=submit]').click();
    await page1.locator('#order-result', { hasText: '2 × p1 (by frontend-1)' }).waitFor({ timeout: 5000 });
  });

  it("revoking instance 2's key shows key_revoked on its page within a second; instance 1 keeps working", async () => {
    await shot(page2, '3-instance-2-before-revocation');
    // Record, in the page, when the error first appears (the page's clock is this machine's).
    // Browser-side code is passed as strings: this project's TypeScript has no DOM types.
    await page2.evaluate(`{
      const status = document.getElementById('status');
      new MutationObserver(() => {
        if (window.errorShownAt === undefined && status.textContent === 'Error from API: key_revoked') window.errorShownAt = Date.now();
      }).observe(status, { childList: true, characterData: true, subtree: true });
    }`);
    const before1 = await refreshCount(page1);
    assert.match(await statusText(page2), /served to key "frontend-2"/);
    const commandStartedAt = Date.now();
    await runPortcullis(['keys', 'revoke', stack.frontends[1].keyId, '--store', stack.store, '--reason', 'instance compromised']);
    const revokedAt = Date.now();
    await waitInPage(page2, 'window.errorShownAt !== undefined', 10_000);
    const shownAt = (await page2.evaluate('window.errorShownAt')) as number;
    const delay = shownAt - revokedAt;
    // The store commits the revocation before the CLI process has exited, so the page can show
    // it before the exit (a negative figure); the assertion is on the time after the exit.
    console.log(`revocation: instance 2's page showed key_revoked ${delay} ms after the revoke command exited (${shownAt - commandStartedAt} ms after it started)`);
    assert.ok(delay <= 1000 + REFRESH_MS, `shown ${delay} ms after the revocation (allowed: 1000 ms + one ${REFRESH_MS} ms refresh)`);
    assert.equal(await statusText(page2), 'Error from API: key_revoked');
    assert.equal(await page2.locator('#status').getAttribute('class'), 'error');
    assert.equal(await page2.locator('#products tr').count(), 0, 'no stale data next to the error');
    await shot(page2, '4-instance-2-revoked');

    // Instance 1 keeps refreshing with data after the revocation.
    await waitInPage(page1, `Number((/\\(refresh (\\d+)\\)/.exec(document.getElementById('status').textContent) ?? [0, 0])[1]) >= ${before1 + 2}`, 10_000);
    assert.match(await statusText(page1), /served to key "frontend-1"/);
    await shot(page1, '5-instance-1-still-working');
  });

  it("the API refuses a direct call: mutual TLS accepts only Portcullis's certificate", async () => {
    const ca = file('ca.crt');
    const url = `${stack.apiUrl}/products`;
    await assert.rejects(httpsGet(url, { ca }), 'no client certificate: the handshake fails');
    // A certificate from the same CA, but not Portcullis's (such as one stolen from a frontend).
    const intruder = await issueClientCertificate({ cert: file('ca.crt').toString(), key: file('ca.key').toString() }, 'intruder');
    await assert.rejects(httpsGet(url, { ca, cert: Buffer.from(intruder.cert), key: Buffer.from(intruder.key) }), 'another client certificate from the same CA');
    // The control: with Portcullis's certificate the same call is answered.
    const answer = await httpsGet(url, { ca, cert: file('clients/portcullis.crt'), key: file('clients/portcullis.key') });
    assert.equal(answer.status, 200);
  });

  it('Portcullis refuses plaintext HTTP and addresses that are not allowlisted', async () => {
    const ca = file('ca.crt');
    const key1 = stack.secrets.get(stack.frontends[0].keyId)!;
    const headers = { authorization: `Bearer ${key1}` };
    const url = `${stack.portcullisUrl}/products`;
    await assert.rejects(
      new Promise((resolve, reject) => httpRequest(`http://127.0.0.1:${new URL(stack.portcullisUrl).port}/products`, { headers, agent: false }, resolve).on('error', reject).end()),
      'http:// to the TLS-only listener',
    );
    const stranger = await httpsGet(url, { ca, headers, localAddress: '127.0.0.13' });
    assert.equal(stranger.status, 403);
    assert.equal(JSON.parse(stranger.body).code, 'ip_not_allowed');
    // Instance 1's key, from instance 2's (allowlisted) address: the key is bound to 127.0.0.11.
    const otherInstance = await httpsGet(url, { ca, headers, localAddress: '127.0.0.12' });
    assert.equal(otherInstance.status, 403);
    assert.equal(JSON.parse(otherInstance.body).code, 'ip_not_allowed');
    // The control: the same call from instance 1's address is answered.
    const fromInstance1 = await httpsGet(url, { ca, headers, localAddress: '127.0.0.11' });
    assert.equal(fromInstance1.status, 200);
    assert.equal(JSON.parse(fromInstance1.body).servedTo, 'frontend-1');
  });
}, { timeout: 120_000 });
