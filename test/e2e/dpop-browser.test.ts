/**
 * Issue 22 in a real browser: the example's page (examples/frontend-and-api) calls the API
 * directly through Portcullis with a delegated DPoP token from its own frontend server, through
 * @portcullis/browser, in Debian's Chromium.
 *
 * - the page's WebCrypto key is non-extractable (exportKey rejects);
 * - the first call meets the nonce challenge and is retried with the nonce;
 * - the token copied out of the page is refused from outside it: without a proof, with a proof
 *   of another key, with the page's own proof replayed, and with that proof on another URL or
 *   method;
 * - revoking the frontend server's key ends the page's direct access within the revocation target.
 *
 * The browser trusts exactly the demo gateway's certificate (--ignore-certificate-errors-spki-list
 * with its public key's hash), nothing else. Screenshots go to test-results/dpop-browser/.
 */
import assert from 'node:assert/strict';
import { createHash, createPublicKey, generateKeyPairSync, randomUUID, sign } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import { EXAMPLE_FOLDER, freePorts, PROJECT_ROOT, runPortcullis, startStack, type RunningStack } from '../../examples/frontend-and-api/stack.ts';
import { chromiumCheck, launchChromium } from '../support/browser.ts';
import { describeNeeding } from '../support/required-service.ts';

const SCREENSHOTS = join(PROJECT_ROOT, 'test-results', 'dpop-browser');
/** What the revocation may take to reach the gateway (its 50 ms poll) and the page to show it. */
const REVOCATION_TARGET_MS = 1000;

interface Answer {
  status: number;
  code: string | null;
  headers: Record<string, string | string[] | undefined>;
}

/** A request to the gateway as a thief outside the page would make it (Node, trusting the demo CA). */
function gatewayCall(url: string, method: string, headers: Record<string, string>, ca: Buffer): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const outgoing = httpsRequest(url, { method, headers, ca, agent: false, timeout: 5000 }, (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () => {
        let code: string | null = null;
        try {
          code = (JSON.parse(body) as { code?: string }).code ?? null;
        } catch {
          code = null;
        }
        resolve({ status: response.statusCode ?? 0, code, headers: response.headers });
      });
    });
    outgoing.on('timeout', () => outgoing.destroy(new Error('timed out')));
    outgoing.on('error', reject);
    outgoing.end();
  });
}

/** A DPoP proof made with a key of the thief's own (not the page's). */
function foreignProof(method: string, url: string, token: string): string {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const { kty, crv, x, y } = publicKey.export({ format: 'jwk' });
  const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const input = `${encode({ typ: 'dpop+jwt', alg: 'ES256', jwk: { kty, crv, x, y } })}.${encode({ jti: randomUUID(), htm: method, htu: url, iat: Math.floor(Date.now() / 1000), ath: createHash('sha256').update(token).digest('base64url') })}`;
  return `${input}.${sign('sha256', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`;
}

/** The base64 SHA-256 of a certificate's public key, as Chromium's SPKI allow-list wants it. */
function spkiHash(certificatePem: Buffer): string {
  return createHash('sha256').update(createPublicKey(certificatePem).export({ type: 'spki', format: 'der' })).digest('base64');
}

/** Clicks the page's "Call the API directly" and waits for its result. */
async function callDirectly(page: Page): Promise<{ status: string; text: string }> {
  await page.evaluate(() => document.getElementById('direct-result')!.removeAttribute('data-status'));
  await page.click('#direct-call');
  const result = page.locator('#direct-result[data-status]');
  await result.waitFor({ timeout: 10_000 });
  return { status: (await result.getAttribute('data-status')) ?? '', text: await result.innerText() };
}

describeNeeding(chromiumCheck(), 'a page calling the API through Portcullis with a delegated DPoP token', () => {
  let stack: RunningStack;
  let context: BrowserContext;
  let closeBrowser: (() => Promise<void>) | undefined;
  let page: Page;
  let ca: Buffer;
  /** The gateway's answers to the page's direct calls, in order. */
  const gatewayAnswers: Array<{ url: string; status: number; challenge: string | null; proof: string | null; authorization: string | null; method: string }> = [];
  let token = '';

  before(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    stack = await freePorts().then((ports) => startStack({ stateFolder: join(EXAMPLE_FOLDER, `.demo-dpop-${process.pid}`), ports }));
    ca = readFileSync(join(stack.certFolder, 'ca.crt'));
    const browser = await launchChromium({ width: 900, height: 760 }, [`--ignore-certificate-errors-spki-list=${spkiHash(readFileSync(join(stack.certFolder, 'server.crt')))}`]);
    ({ context, close: closeBrowser } = browser);
    page = await context.newPage();
    page.on('response', (response) => {
      if (!response.url().startsWith(stack.portcullisUrl)) return;
      const request = response.request();
      void request.allHeaders().then((headers) => gatewayAnswers.push({ url: response.url(), method: request.method(), status: response.status(), challenge: response.headers()['www-authenticate'] ?? null, proof: headers.dpop ?? null, authorization: headers.authorization ?? null }));
    });
    page.on('response', (response) => {
      if (response.url().endsWith('/session/api-token')) void response.json().then((answer: { body: { token?: string } }) => (token = answer.body.token ?? token));
    });
    await page.goto(stack.frontends[0].url);
  });

  after(async () => {
    await closeBrowser?.();
    await stack?.stop();
    if (stack) rmSync(stack.stateFolder, { recursive: true, force: true });
  });

  it('gets a token from its frontend server and calls the API directly, answering the nonce challenge', async () => {
    const result = await callDirectly(page);
    assert.equal(result.status, '200', result.text);
    assert.match(result.text, /Direct call: 3 products, served to key "frontend-1"/);
    await page.screenshot({ path: join(SCREENSHOTS, 'direct-call.png'), fullPage: true });
    const calls = gatewayAnswers.filter((answer) => answer.method === 'GET');
    assert.equal(calls[0]?.status, 401, 'the first proof has no nonce');
    assert.match(calls[0]?.challenge ?? '', /^DPoP .*error="use_dpop_nonce"/);
    assert.equal(calls.at(-1)?.status, 200);
    assert.match(calls.at(-1)?.authorization ?? '', /^DPoP /);
    assert.ok(token !== '', 'the page received a token');
  });

  it('keeps its private key non-extractable in IndexedDB', async () => {
    const outcome = await page.evaluate(async () => {
      const db = await new Promise<IDBDatabase>((resolve, reject) => {
        const opening = indexedDB.open('portcullis-dpop', 1);
        opening.onsuccess = () => resolve(opening.result);
        opening.onerror = () => reject(opening.error);
      });
      const pair = await new Promise<CryptoKeyPair>((resolve, reject) => {
        const reading = db.transaction('keys').objectStore('keys').get('default');
        reading.onsuccess = () => resolve(reading.result as CryptoKeyPair);
        reading.onerror = () => reject(reading.error);
      });
      db.close();
      const attempts = await Promise.allSettled([crypto.subtle.exportKey('jwk', pair.privateKey), crypto.subtle.exportKey('pkcs8', pair.privateKey)]);
      return { extractable: pair.privateKey.extractable, algorithm: (pair.privateKey.algorithm as EcKeyAlgorithm).namedCurve, refused: attempts.map((attempt) => attempt.status === 'rejected') };
    });
    assert.deepEqual(outcome, { extractable: false, algorithm: 'P-256', refused: [true, true] });
  });

  it('the token copied out of the page is useless outside it', async () => {
    const url = `${stack.portcullisUrl}/products`;
    const pageCall = gatewayAnswers.filter((answer) => answer.status === 200).at(-1)!;
    const copiedProof = pageCall.proof!;
    const noProof = await gatewayCall(url, 'GET', { authorization: `DPoP ${token}` }, ca);
    assert.deepEqual([noProof.status, noProof.code], [401, 'dpop_proof_invalid'], 'no proof');
    const otherKey = await gatewayCall(url, 'GET', { authorization: `DPoP ${token}`, dpop: foreignProof('GET', url, token) }, ca);
    assert.equal(otherKey.status, 401, 'a proof of another key');
    assert.ok(['dpop_token_invalid', 'dpop_nonce_required'].includes(otherKey.code ?? ''), `another key: ${otherKey.code}`);
    const replayed = await gatewayCall(pageCall.url, 'GET', { authorization: `DPoP ${token}`, dpop: copiedProof }, ca);
    assert.deepEqual([replayed.status, replayed.code], [401, 'dpop_proof_replayed'], 'the page\'s proof replayed');
    const otherUrl = await gatewayCall(`${stack.portcullisUrl}/products/p-1`, 'GET', { authorization: `DPoP ${token}`, dpop: copiedProof }, ca);
    assert.deepEqual([otherUrl.status, otherUrl.code], [401, 'dpop_proof_invalid'], 'the page\'s proof on another URL');
    // Another method on a route that has it (POST /orders: the proof says GET /products).
    const otherMethod = await gatewayCall(`${stack.portcullisUrl}/orders`, 'POST', { authorization: `DPoP ${token}`, dpop: copiedProof, 'content-type': 'application/json' }, ca);
    assert.deepEqual([otherMethod.status, otherMethod.code], [401, 'dpop_proof_invalid'], 'the page\'s proof with another method');
    // A method the route table does not have is refused before any key is looked at.
    const unrouted = await gatewayCall(pageCall.url, 'DELETE', { authorization: `DPoP ${token}`, dpop: copiedProof }, ca);
    assert.deepEqual([unrouted.status, unrouted.code], [405, 'method_not_allowed']);
    const asBearer = await gatewayCall(url, 'GET', { authorization: `Bearer ${token}` }, ca);
    assert.equal(asBearer.status, 401, 'the token as a plain bearer key');
    for (const answer of [noProof, otherKey, replayed, otherUrl, otherMethod]) assert.match(String(answer.headers['www-authenticate']), /^DPoP /);
  });

  it('revoking the frontend server\'s key ends the page\'s direct access within the revocation target', async () => {
    assert.equal((await callDirectly(page)).status, '200');
    await runPortcullis(['keys', 'revoke', stack.frontends[0].keyId, '--store', stack.store, '--reason', 'instance compromised']);
    const revokedAt = Date.now();
    let result = await callDirectly(page);
    while (result.status === '200' && Date.now() - revokedAt < 5 * REVOCATION_TARGET_MS) result = await callDirectly(page);
    const elapsed = Date.now() - revokedAt;
    assert.notEqual(result.status, '200', 'the page is refused');
    assert.match(result.text, /key_revoked/);
    process.stdout.write(`# revocation → page refused after ${elapsed} ms (target ${REVOCATION_TARGET_MS} ms)\n`);
    await page.screenshot({ path: join(SCREENSHOTS, 'after-revocation.png'), fullPage: true });
    assert.ok(elapsed <= REVOCATION_TARGET_MS, `refused within ${REVOCATION_TARGET_MS} ms, took ${elapsed} ms`);
  });
});
