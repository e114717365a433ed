import assert from 'node:assert/strict';
import { createServer, type AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { assessHealth, type HealthReport } from './health-report.ts';
import { startHealthServer, type HealthServer } from './health-server.ts';

describe('health listener', () => {
  let server: HealthServer;
  let origin: string;
  let current: HealthReport;
  const serving = assessHealth({ phase: 'serving', store: { reachable: true, lastContactAt: 1, freshUntil: Date.now() + 60_000 }, changeFeed: { lastSeq: 7, notifications: 'not-used' } }, Date.now());
  const draining = assessHealth({ phase: 'draining', store: { reachable: true, lastContactAt: 1, freshUntil: Date.now() + 60_000 }, changeFeed: { lastSeq: 7, notifications: 'not-used' } }, Date.now());

  before(async () => {
    current = serving;
    server = await startHealthServer({ host: '127.0.0.1', port: 0 }, () => current);
    origin = `http://127.0.0.1:${server.address.port}`;
  });
  after(() => server.close());

  it('answers /healthz and /readyz with the current report, never cached', async () => {
    for (const path of ['/healthz', '/readyz']) {
      const response = await request(`${origin}${path}`);
      assert.equal(response.statusCode, 200);
      assert.equal(response.headers['content-type'], 'application/json');
      assert.equal(response.headers['cache-control'], 'no-store');
      assert.deepEqual(await response.body.json(), serving);
    }
  });

  it('turns /readyz to 503 when the node is not ready, and keeps /healthz at 200', async () => {
    current = draining;
    try {
      const ready = await request(`${origin}/readyz?verbose=1`);
      assert.equal(ready.statusCode, 503);
      assert.equal(ready.headers.connection, 'close', 'a prober asks again on a new connection, which a process still serving may take');
      assert.equal(((await ready.body.json()) as HealthReport).status, 'not_ready');
      const live = await request(`${origin}/healthz`);
      assert.equal(live.statusCode, 200);
      await live.body.dump();
    } finally {
      current = serving;
    }
  });

  it('answers HEAD without a body, other paths with 404 and other methods with 405', async () => {
    const head = await request(`${origin}/readyz`, { method: 'HEAD' });
    assert.equal(head.statusCode, 200);
    assert.equal(await head.body.text(), '');
    const missing = await request(`${origin}/`);
    assert.equal(missing.statusCode, 404);
    await missing.body.dump();
    const post = await request(`${origin}/healthz`, { method: 'POST', body: '' });
    assert.equal(post.statusCode, 405);
    assert.equal(post.headers.allow, 'GET, HEAD');
    await post.body.dump();
  });
});

describe('health listener address', () => {
  const report = assessHealth({ phase: 'serving', store: { reachable: true, lastContactAt: 1, freshUntil: Date.now() + 60_000 }, changeFeed: { lastSeq: 7, notifications: 'not-used' } }, Date.now());

  it('shares its port with another health listener (a restart that overlaps), and names --health-listen when another program holds it', async () => {
    const first = await startHealthServer({ host: '127.0.0.1', port: 0 }, () => report);
    try {
      const second = await startHealthServer(first.address, () => report);
      await second.close();
    } finally {
      await first.close();
    }
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const { port } = holder.address() as AddressInfo;
    try {
      await assert.rejects(startHealthServer({ host: '127.0.0.1', port }, () => report), new RegExp(`health\\.listen 127\\.0\\.0\\.1:${port}: cannot listen \\(EADDRINUSE\\).*--health-listen or PORTCULLIS_HEALTH_LISTEN`));
    } finally {
      holder.close();
    }
  });
});
