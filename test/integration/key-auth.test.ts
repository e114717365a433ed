import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { request as httpRequest } from 'node:http';
import { request } from 'undici';
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.ts';
import { createKeyInStore, startTestGateway, type TestGateway } from '../support/in-process-gateway.ts';
import { temporaryDirectory } from '../support/processes.ts';
import { openKeyStore } from '../../src/store/open-key-store.ts';
import type { Store } from '../../src/store/store.ts';
import { generateKey } from '../../src/keys/key-format.ts';

/** Wraps a store so the test can see whether the gateway asked it anything. */
function countingStore(inner: Store): { store: Store; digestLookups: () => number } {
  let lookups = 0;
  const store = new Proxy(inner, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (property === 'getKeyByDigest') {
        return (digest: string) => {
          lookups++;
          return target.getKeyByDigest(digest);
        };
      }
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
  return { store, digestLookups: () => lookups };
}

async function problemOf(response: Awaited<ReturnType<typeof request>>) {
  assert.equal(response.headers['content-type'], 'application/problem+json');
  return (await response.body.json()) as { type: string; title: string; status: number; detail: string; code: string };
}

describe('key authentication through the gateway', () => {
  const directory = temporaryDirectory();
  const storePath = join(directory.path, 'keys.db');
  let upstream: RecordingUpstream;
  let gateway: TestGateway;
  let counting: ReturnType<typeof countingStore>;

  before(async () => {
    upstream = await startRecordingUpstream();
    const store = await openKeyStore(storePath);
    counting = countingStore(store);
    gateway = await startTestGateway(upstream.url, storePath, { store: counting.store });
  });
  after(async () => {
    await gateway.stop();
    await upstream.close();
    directory.remove();
  });

  it('answers 401 key_missing with a Bearer challenge when no key is sent, and forwards nothing', async () => {
    const before = upstream.requests.length;
    const response = await request(`${gateway.url}/orders`);
    assert.equal(response.statusCode, 401);
    assert.equal(response.headers['www-authenticate'], 'Bearer realm="portcullis"');
    const problem = await problemOf(response);
    assert.equal(problem.code, 'key_missing');
    assert.equal(problem.status, 401);
    assert.equal(problem.type, 'urn:portcullis:problem:key_missing');
    assert.equal(upstream.requests.length, before);
  });

  it('rejects a malformed key with 401 key_invalid without asking the store', async () => {
    const key = generateKey('pcl');
    const tampered = key.slice(0, 10) + (key[10] === 'A' ? 'B' : 'A') + key.slice(11);
    const lookupsBefore = counting.digestLookups();
    for (const bad of [tampered, 'pcl_short', 'not-a-key', `${key}x`, generateKey('other')]) {
      const response = await request(`${gateway.url}/orders`, { headers: { authorization: `Bearer ${bad}` } });
      assert.equal(response.statusCode, 401);
      assert.equal((await problemOf(response)).code, 'key_invalid');
    }
    assert.equal(counting.digestLookups(), lookupsBefore, 'a malformed key must not cause a store lookup');
  });

  it('rejects a well-formed unknown key with 401 key_invalid, and asks the store only once for it', async () => {
    const unknown = generateKey('pcl');
    const lookupsBefore = counting.digestLookups();
    for (let attempt = 0; attempt < 3; attempt++) {
      const response = await request(`${gateway.url}/orders`, { headers: { 'x-api-key': unknown } });
      assert.equal(response.statusCode, 401);
      const problem = await problemOf(response);
      assert.equal(problem.code, 'key_invalid');
      assert.ok(!JSON.stringify(problem).includes(unknown), 'the body never echoes the key');
    }
    assert.equal(counting.digestLookups() - lookupsBefore, 1);
  });

  it('forwards a request with a valid key, returns the upstream body, and never forwards the key', async () => {
    const { id, key } = await createKeyInStore(storePath);
    for (const headers of [{ authorization: `Bearer ${key}` }, { 'x-api-key': key }]) {
      const response = await request(`${gateway.url}/orders/7?expand=items`, { headers });
      assert.equal(response.statusCode, 200);
      assert.deepEqual(await response.body.json(), { ok: true, path: '/orders/7?expand=items' });
      const received = upstream.requests.at(-1)!;
      assert.equal(received.headers['x-portcullis-key-id'], id);
      assert.equal(received.headers['x-portcullis-key-name'], 'test');
      assert.equal(received.headers.authorization, undefined);
      assert.equal(received.headers['x-api-key'], undefined);
      assert.ok(!received.rawHeaders.join('\n').includes(key), 'no trace of the key reaches the upstream');
    }
  });

  it('keeps a non-Bearer Authorization header for the upstream', async () => {
    const { key } = await createKeyInStore(storePath);
    const response = await request(`${gateway.url}/basic`, { headers: { 'x-api-key': key, authorization: 'Basic dXNlcjpwYXNz' } });
    assert.equal(response.statusCode, 200);
    await response.body.dump();
    assert.equal(upstream.requests.at(-1)!.headers.authorization, 'Basic dXNlcjpwYXNz');
  });

  it('drops spoofed X-Portcullis-* headers and replaces them with the real identity', async () => {
    const { id, key } = await createKeyInStore(storePath, { name: 'real-client' });
    const response = await request(`${gateway.url}/spoof`, {
      headers: { 'x-api-key': key, 'x-portcullis-key-id': 'key_spoofed', 'X-Portcullis-Key-Name': 'admin', 'x-portcullis-anything': '1' },
    });
    assert.equal(response.statusCode, 200);
    await response.body.dump();
    const received = upstream.requests.at(-1)!;
    assert.equal(received.headers['x-portcullis-key-id'], id);
    assert.equal(received.headers['x-portcullis-key-name'], 'real-client');
    assert.equal(received.headers['x-portcullis-anything'], undefined);
    assert.ok(!received.rawHeaders.includes('key_spoofed'));
  });

  it('refuses two different keys in one request with 400 key_ambiguous', async () => {
    const first = await createKeyInStore(storePath);
    const second = await createKeyInStore(storePath);
    const before = upstream.requests.length;
    const response = await request(`${gateway.url}/x`, { headers: { authorization: `Bearer ${first.key}`, 'x-api-key': second.key } });
    assert.equal(response.statusCode, 400);
    assert.equal((await problemOf(response)).code, 'key_ambiguous');
    // Two Authorization lines: Node keeps only the first in req.headers; the gateway must see both.
    const twoLines = await request(`${gateway.url}/x`, { headers: [['authorization', `Bearer ${first.key}`], ['authorization', `Bearer ${second.key}`]].flat() });
    assert.equal(twoLines.statusCode, 400);
    await twoLines.body.dump();
    // The same key twice is one key.
    const same = await request(`${gateway.url}/x`, { headers: { authorization: `Bearer ${first.key}`, 'x-api-key': first.key } });
    assert.equal(same.statusCode, 200);
    await same.body.dump();
    assert.equal(upstream.requests.length, before + 1);
  });

  it('answers 401 key_expired once a key has expired', async () => {
    const { key } = await createKeyInStore(storePath, { expiresAt: Date.now() + 300 });
    const live = await request(`${gateway.url}/e`, { headers: { 'x-api-key': key } });
    assert.equal(live.statusCode, 200);
    await live.body.dump();
    await new Promise((resolve) => setTimeout(resolve, 350));
    const expired = await request(`${gateway.url}/e`, { headers: { 'x-api-key': key } });
    assert.equal(expired.statusCode, 401);
    assert.equal(expired.headers['www-authenticate'], 'Bearer realm="portcullis", error="invalid_token"');
    assert.equal((await problemOf(expired)).code, 'key_expired');
  });

  it('does not forward hop-by-hop headers or headers named in Connection', async () => {
    const { key } = await createKeyInStore(storePath);
    // node:http, because undici (rightly) refuses to send some of these headers itself.
    const status = await new Promise<number>((resolve, reject) => {
      const outgoing = httpRequest(`${gateway.url}/hop`, {
        headers: { 'x-api-key': key, connection: 'keep-alive, x-secret-hop', 'x-secret-hop': '1', 'keep-alive': 'timeout=5', 'proxy-authorization': 'Basic x', te: 'trailers', 'x-kept': 'yes' },
      });
      outgoing.on('response', (response) => {
        response.resume();
        response.on('end', () => resolve(response.statusCode as number));
      });
      outgoing.on('error', reject);
      outgoing.end();
    });
    assert.equal(status, 200);
    const received = upstream.requests.at(-1)!;
    assert.equal(received.headers['x-secret-hop'], undefined);
    assert.equal(received.headers['keep-alive'], undefined);
    assert.equal(received.headers['proxy-authorization'], undefined);
    assert.equal(received.headers.te, undefined);
    assert.equal(received.headers['x-kept'], 'yes');
    assert.equal(received.headers['x-forwarded-for'], '127.0.0.1');
  });

  it('drops hop-by-hop headers from the upstream response', async () => {
    const hopUpstream = await startRecordingUpstream((_req, res) => {
      res.writeHead(200, { connection: 'x-upstream-hop', 'x-upstream-hop': 'secret', 'x-visible': 'yes', 'content-length': '2' });
      res.end('ok');
    });
    const hopGateway = await startTestGateway(hopUpstream.url, storePath);
    try {
      const { key } = await createKeyInStore(storePath);
      const response = await request(`${hopGateway.url}/r`, { headers: { 'x-api-key': key } });
      assert.equal(response.statusCode, 200);
      assert.equal(await response.body.text(), 'ok');
      assert.equal(response.headers['x-upstream-hop'], undefined);
      assert.equal(response.headers['x-visible'], 'yes');
    } finally {
      await hopGateway.stop();
      await hopUpstream.close();
    }
  });

  it('refuses absolute-form targets and TRACE', async () => {
    const { key } = await createKeyInStore(storePath);
    const trace = await request(`${gateway.url}/x`, { method: 'TRACE', headers: { 'x-api-key': key } });
    assert.equal(trace.statusCode, 405);
    assert.match(String(trace.headers.allow), /GET/);
    assert.equal((await problemOf(trace)).code, 'method_not_allowed');
  });
});

describe('CONNECT', () => {
  it('is refused with 405 and the connection closed', async () => {
    const upstream = await startRecordingUpstream();
    const directory = temporaryDirectory();
    const gateway = await startTestGateway(upstream.url, join(directory.path, 'k.db'));
    try {
      const { connect } = await import('node:net');
      const port = Number(new URL(gateway.url).port);
      const reply = await new Promise<string>((resolve, reject) => {
        const socket = connect(port, '127.0.0.1', () => socket.write('CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n'));
        let text = '';
        socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
        socket.on('end', () => resolve(text));
        socket.on('error', reject);
      });
      assert.match(reply, /^HTTP\/1\.1 405 /);
      assert.match(reply, /"code":"method_not_allowed"/);
      assert.equal(upstream.requests.length, 0);
    } finally {
      await gateway.stop();
      await upstream.close();
      directory.remove();
    }
  });
});
