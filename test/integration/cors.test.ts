import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { request } from 'undici';
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.ts';
import { createKeyInStore, startTestGateway, type TestGateway } from '../support/in-process-gateway.ts';
import { temporaryDirectory } from '../support/processes.ts';
import { ConfigError } from '../../src/config/config-error.ts';

const APP = 'https://app.example.com';

describe('CORS', () => {
  const directory = temporaryDirectory();
  const storePath = join(directory.path, 'keys.db');
  let upstream: RecordingUpstream;
  let gateway: TestGateway;
  let key: string;

  before(async () => {
    // The upstream has its own (too generous) CORS headers, which the gateway must not pass on.
    upstream = await startRecordingUpstream((req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'application/json', 'access-control-allow-origin': '*', vary: 'Accept-Encoding', 'x-request-id': 'r1' });
      res.end('{}');
    });
    gateway = await startTestGateway(upstream.url, storePath, {
      env: {
        PORTCULLIS_CORS_ALLOWED_ORIGINS: `${APP},https://*.example.org`,
        PORTCULLIS_CORS_ALLOW_CREDENTIALS: 'true',
        PORTCULLIS_CORS_EXPOSED_HEADERS: 'x-request-id',
        PORTCULLIS_CORS_MAX_AGE: '5m',
      },
    });
    key = (await createKeyInStore(storePath)).key;
  });
  after(async () => {
    await gateway?.stop();
    await upstream?.close();
    directory.remove();
  });

  function preflight(origin: string, method = 'POST', requestHeaders = 'content-type, x-api-key') {
    return request(`${gateway.url}/orders`, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': requestHeaders } });
  }

  it('answers an allowed preflight with 204 and the CORS headers, without a key and without the upstream', async () => {
    const before = upstream.requests.length;
    for (const origin of [APP, 'https://shop.example.org', 'https://a.b.example.org']) {
      const response = await preflight(origin);
      assert.equal(response.statusCode, 204);
      await response.body.dump();
      assert.equal(response.headers['access-control-allow-origin'], origin);
      assert.equal(response.headers['access-control-allow-credentials'], 'true');
      assert.match(String(response.headers['access-control-allow-methods']), /POST/);
      assert.equal(response.headers['access-control-allow-headers'], 'authorization, content-type, x-api-key');
      assert.equal(response.headers['access-control-max-age'], '300');
      assert.match(String(response.headers.vary), /Origin/);
    }
    assert.equal(upstream.requests.length, before, 'a preflight never reaches the upstream');
  });

  it('gives a disallowed origin, method or header no CORS headers at all', async () => {
    const before = upstream.requests.length;
    const refused = [preflight('https://evil.example.com'), preflight('https://example.org'), preflight('https://app.example.com.evil.net'), preflight('null'), preflight(APP, 'TRACE'), preflight(APP, 'POST', 'x-secret')];
    for (const pending of refused) {
      const response = await pending;
      await response.body.dump();
      assert.equal(response.statusCode, 204);
      assert.equal(response.headers['access-control-allow-origin'], undefined);
      assert.equal(response.headers['access-control-allow-credentials'], undefined);
      assert.match(String(response.headers.vary), /Origin/);
    }
    assert.equal(upstream.requests.length, before);
  });

  it('sets the CORS headers on the upstream response for an allowed origin, replacing the upstream\'s own', async () => {
    const response = await request(`${gateway.url}/orders`, { headers: { origin: APP, 'x-api-key': key } });
    assert.equal(response.statusCode, 200);
    await response.body.dump();
    assert.equal(response.headers['access-control-allow-origin'], APP, 'never the upstream\'s "*" on a credentialed response');
    assert.equal(response.headers['access-control-allow-credentials'], 'true');
    assert.equal(response.headers['access-control-expose-headers'], 'x-request-id');
    const vary = ([] as string[]).concat(response.headers.vary ?? []).join(', ');
    assert.match(vary, /Origin/);
    assert.match(vary, /Accept-Encoding/);
  });

  it('gives a disallowed origin no CORS headers on an actual request, and the upstream\'s "*" is dropped', async () => {
    const response = await request(`${gateway.url}/orders`, { headers: { origin: 'https://evil.example.com', 'x-api-key': key } });
    assert.equal(response.statusCode, 200);
    await response.body.dump();
    assert.equal(response.headers['access-control-allow-origin'], undefined);
    assert.equal(response.headers['access-control-allow-credentials'], undefined);
    assert.match(([] as string[]).concat(response.headers.vary ?? []).join(', '), /Origin/);
  });

  it('lets an allowed page read a denial (401) made by the gateway', async () => {
    const response = await request(`${gateway.url}/orders`, { headers: { origin: APP } });
    assert.equal(response.statusCode, 401);
    await response.body.dump();
    assert.equal(response.headers['access-control-allow-origin'], APP);
  });

  it('refuses "*" together with credentials at start-up', async () => {
    await assert.rejects(
      startTestGateway(upstream.url, storePath, { env: { PORTCULLIS_CORS_ALLOWED_ORIGINS: '*', PORTCULLIS_CORS_ALLOW_CREDENTIALS: 'true' } }),
      (error: unknown) => error instanceof ConfigError && /cannot be combined with cors.allowCredentials/.test(error.message),
    );
  });

  it('is off by default: a preflight is a request like any other, and needs a key', async () => {
    const plain = await startTestGateway(upstream.url, storePath);
    try {
      const response = await request(`${plain.url}/orders`, { method: 'OPTIONS', headers: { origin: APP, 'access-control-request-method': 'POST' } });
      assert.equal(response.statusCode, 401);
      await response.body.dump();
      assert.equal(response.headers['access-control-allow-origin'], undefined);
    } finally {
      await plain.stop();
    }
  });
});

describe('CORS with any origin and no credentials', () => {
  it('answers "*" and never allows credentials', async () => {
    const directory = temporaryDirectory();
    const upstream = await startRecordingUpstream();
    const gateway = await startTestGateway(upstream.url, join(directory.path, 'keys.db'), { env: { PORTCULLIS_CORS_ALLOWED_ORIGINS: '*' } });
    try {
      const response = await request(`${gateway.url}/x`, { method: 'OPTIONS', headers: { origin: 'https://anywhere.test', 'access-control-request-method': 'GET' } });
      await response.body.dump();
      assert.equal(response.headers['access-control-allow-origin'], '*');
      assert.equal(response.headers['access-control-allow-credentials'], undefined);
      assert.equal(upstream.requests.length, 0);
    } finally {
      await gateway.stop();
      await upstream.close();
      directory.remove();
    }
  });
});
