import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { request } from 'undici';
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.ts';
import { createKeyInStore, startTestGateway, type TestGateway } from '../support/in-process-gateway.ts';
import { temporaryDirectory } from '../support/processes.ts';
import { adminCall, createAdminToken } from '../support/admin-client.ts';
import { CLI_ACTOR } from '../../src/store/audit-log.ts';

/** `name{labels}` → value, from the Prometheus text format. */
function parseMetrics(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    samples.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return samples;
}

async function send(url: string, headers: Record<string, string> = {}): Promise<number> {
  const response = await request(url, { headers });
  await response.body.dump();
  return response.statusCode;
}

describe('GET /metrics after traffic', () => {
  const directory = temporaryDirectory();
  const storePath = join(directory.path, 'keys.db');
  let upstream: RecordingUpstream;
  let gateway: TestGateway;
  let token: string;

  before(async () => {
    upstream = await startRecordingUpstream((req, res) => {
      req.resume();
      res.writeHead(req.url === '/broken' ? 500 : 200, { 'content-type': 'text/plain' });
      res.end('ok');
    });
    gateway = await startTestGateway(upstream.url, storePath);
    token = (await createAdminToken(gateway.gateway.store, 'read')).token;
  });
  after(async () => {
    await gateway.stop();
    await upstream.close();
    directory.remove();
  });

  async function scrape(): Promise<Map<string, number>> {
    const response = await adminCall<string>(gateway.gateway.admin!.url, 'GET', '/metrics', { token });
    assert.equal(response.status, 200);
    return parseMetrics(response.body);
  }

  it('shows the counters moving: outcomes, upstream status classes, latency histograms, the key cache and the change feed', async () => {
    const { key } = await createKeyInStore(storePath);
    const revoked = await createKeyInStore(storePath);
    await gateway.gateway.store.revokeKey(revoked.id, 'test', Date.now(), CLI_ACTOR);
    const before = await scrape();
    const value = (samples: Map<string, number>, name: string) => samples.get(name) ?? 0;

    for (let i = 0; i < 3; i++) assert.equal(await send(`${gateway.url}/ok`, { 'x-api-key': key }), 200);
    assert.equal(await send(`${gateway.url}/broken`, { 'x-api-key': key }), 500);
    assert.equal(await send(`${gateway.url}/none`), 401);
    assert.equal(await send(`${gateway.url}/bad`, { 'x-api-key': `${key.slice(0, -1)}${key.endsWith('0') ? '1' : '0'}` }), 401);
    assert.equal(await send(`${gateway.url}/revoked`, { 'x-api-key': revoked.key }), 401);

    const after = await scrape();
    const delta = (name: string) => value(after, name) - value(before, name);
    assert.equal(delta('portcullis_requests_total{outcome="forwarded"}'), 4);
    assert.equal(delta('portcullis_requests_total{outcome="key_missing"}'), 1);
    assert.equal(delta('portcullis_requests_total{outcome="key_invalid"}'), 1);
    assert.equal(delta('portcullis_requests_total{outcome="key_revoked"}'), 1);
    assert.equal(delta('portcullis_upstream_responses_total{class="2xx"}'), 3);
    assert.equal(delta('portcullis_upstream_responses_total{class="5xx"}'), 1);
    assert.equal(delta('portcullis_request_duration_seconds_count'), 7);
    assert.equal(delta('portcullis_request_duration_seconds_bucket{le="+Inf"}'), 7);
    assert.ok(delta('portcullis_request_duration_seconds_sum') > 0);
    assert.equal(delta('portcullis_upstream_duration_seconds_count'), 4);
    // The first use of each key misses the cache; the rest hit it.
    assert.equal(delta('portcullis_key_cache_lookups_total{result="miss"}'), 2);
    assert.equal(delta('portcullis_key_cache_lookups_total{result="hit"}'), 3);
    const ratio = value(after, 'portcullis_key_cache_hit_ratio');
    assert.ok(ratio > 0 && ratio < 1, String(ratio));
    assert.ok(value(after, 'portcullis_change_feed_lag_seconds') < 5);
    assert.ok(value(after, 'portcullis_change_feed_position') >= 1);
    assert.ok(after.has('process_cpu_user_seconds_total'), 'default process metrics are included');
    assert.equal(value(after, 'portcullis_rate_limiter_backend_up{backend="memory"}'), 1, 'the limiter backend state is exported');
    assert.equal(after.has('portcullis_rate_limiter_backend_up{backend="redis"}'), false, 'no Redis backend without redis.url');
  });
});
