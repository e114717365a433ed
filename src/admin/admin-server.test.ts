import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import pino from 'pino';
import { buildAdminApp } from './admin-server.ts';
import { loadConfig } from '../app/config.ts';
import { openKeyStore } from '../store/open-key-store.ts';
import type { Store } from '../store/store.ts';
import { GatewayMetrics } from '../telemetry/gateway-metrics.ts';
import { RequestIds } from '../telemetry/request-id.ts';
import { assessHealth } from '../health/health-report.ts';
import { temporaryDirectory } from '../../test/support/processes.ts';
import { createAdminToken } from '../../test/support/admin-client.ts';

const changeFeed = { lastSeq: 0, caughtUpAt: Date.now(), subscribe: () => () => {} };
const health = () =>
  assessHealth({ phase: 'serving', store: { reachable: true, lastContactAt: Date.now(), freshUntil: Number.POSITIVE_INFINITY }, changeFeed: { lastSeq: 0, notifications: 'not-used' } }, Date.now());
const metrics = new GatewayMetrics({ keyCache: () => ({ hits: 0, misses: 0, knownKeys: 0, unknownDigests: 0 }), changeFeedCaughtUpAt: () => Date.now(), changeFeedPosition: () => 0 });

async function appFor(store: Store, env: Record<string, string> = {}, report = health) {
  const config = loadConfig({ env: { PORTCULLIS_LOG_LEVEL: 'silent', ...env }, cwd: '/nonexistent' });
  return (await buildAdminApp({ config, store, changeFeed, metrics, requestIds: new RequestIds('test'), logger: pino({ level: 'silent' }), health: report })).app;
}

describe('health on the admin listener uses the gateway\'s one health report', () => {
  const directory = temporaryDirectory();
  let store: Store;
  before(async () => {
    store = await openKeyStore(join(directory.path, 'keys.db'));
  });
  after(async () => {
    await store.close();
    directory.remove();
  });

  it('answers /healthz 200 and /readyz and /api/health 503 when the store has been out of reach past staleFor', async () => {
    const now = Date.now();
    const outOfReach = () =>
      assessHealth({ phase: 'serving', store: { reachable: false, lastContactAt: now - 60_000, freshUntil: now - 1000 }, changeFeed: { lastSeq: 3, notifications: 'not-used' } }, Date.now());
    const app = await appFor(store, {}, outOfReach);
    try {
      const expected = outOfReach();
      const healthz = await app.inject({ method: 'GET', url: '/healthz', remoteAddress: '127.0.0.1' });
      assert.equal(healthz.statusCode, 200, 'liveness does not fail on a store outage');
      assert.deepEqual(healthz.json(), expected);
      const readyz = await app.inject({ method: 'GET', url: '/readyz', remoteAddress: '127.0.0.1' });
      assert.equal(readyz.statusCode, 503);
      assert.equal(readyz.json().status, 'not_ready');
      const api = await app.inject({ method: 'GET', url: '/api/health', remoteAddress: '127.0.0.1' });
      assert.equal(api.statusCode, 503);
      assert.equal(api.json().status, 'not_ready');
      assert.deepEqual(api.json().reasons, expected.reasons);
    } finally {
      await app.close();
    }
  });

  it('answers 200 on every health path when the node is ready', async () => {
    const app = await appFor(store);
    try {
      for (const url of ['/healthz', '/readyz', '/api/health']) {
        const response = await app.inject({ method: 'GET', url, remoteAddress: '127.0.0.1' });
        assert.equal(response.statusCode, 200, url);
        assert.equal(response.json().status, 'ok', url);
      }
    } finally {
      await app.close();
    }
  });
});

describe('the admin listener refuses clients that are not on this host', () => {
  const directory = temporaryDirectory();
  let store: Store;
  let token: string;

  before(async () => {
    store = await openKeyStore(join(directory.path, 'keys.db'));
    token = (await createAdminToken(store, 'write')).token;
  });
  after(async () => {
    await store.close();
    directory.remove();
  });

  it('by default: any other address gets 403 admin_client_refused, even with a valid token and on public routes', async () => {
    const app = await appFor(store);
    try {
      for (const remoteAddress of ['192.0.2.10', '10.0.0.1', '2001:db8::1', '::ffff:192.0.2.10']) {
        for (const url of ['/api/keys', '/api/health', '/openapi.json', '/']) {
          const response = await app.inject({ method: 'GET', url, remoteAddress, headers: { authorization: `Bearer ${token}` } });
          assert.equal(response.statusCode, 403, `${remoteAddress} ${url}`);
          assert.equal(response.json().code, 'admin_client_refused');
        }
      }
    } finally {
      await app.close();
    }
  });

  it('ignores forwarding headers: only the socket address counts', async () => {
    const app = await appFor(store);
    try {
      const response = await app.inject({ method: 'GET', url: '/api/health', remoteAddress: '192.0.2.10', headers: { 'x-forwarded-for': '127.0.0.1', forwarded: 'for=127.0.0.1' } });
      assert.equal(response.statusCode, 403);
    } finally {
      await app.close();
    }
  });

  it('accepts loopback clients, IPv4, IPv6 and IPv4-mapped', async () => {
    const app = await appFor(store);
    try {
      for (const remoteAddress of ['127.0.0.1', '127.0.0.53', '::1', '::ffff:127.0.0.1']) {
        const response = await app.inject({ method: 'GET', url: '/api/keys', remoteAddress, headers: { authorization: `Bearer ${token}` } });
        assert.equal(response.statusCode, 200, remoteAddress);
      }
    } finally {
      await app.close();
    }
  });

  it('with admin.allowRemote on, lets other addresses reach authentication (still needing a token)', async () => {
    const app = await appFor(store, { PORTCULLIS_ADMIN_ALLOW_REMOTE: 'true' });
    try {
      assert.equal((await app.inject({ method: 'GET', url: '/api/keys', remoteAddress: '192.0.2.10' })).json().code, 'admin_unauthorized');
      assert.equal((await app.inject({ method: 'GET', url: '/api/keys', remoteAddress: '192.0.2.10', headers: { authorization: `Bearer ${token}` } })).statusCode, 200);
    } finally {
      await app.close();
    }
  });
});
