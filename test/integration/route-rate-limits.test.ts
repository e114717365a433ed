import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { request } from 'undici';
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.ts';
import { createKeyInStore, startTestGateway, type TestGateway } from '../support/in-process-gateway.ts';
import { temporaryDirectory } from '../support/processes.ts';
import { loadConfig } from '../../src/app/config.ts';
import { loadRoutes } from '../../src/app/routes.ts';
import { ConfigError } from '../../src/config/config-error.ts';

/** Every value of a response header, whether undici gave one line or several. */
function lines(value: string | string[] | undefined): string[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

describe('per-route rate limits', () => {
  const directory = temporaryDirectory();
  const storePath = join(directory.path, 'keys.db');
  const configPath = join(directory.path, 'portcullis.yaml');
  const openapiPath = join(directory.path, 'openapi.yaml');
  let upstream: RecordingUpstream;
  let gateway: TestGateway;

  /** An OpenAPI document whose `POST /reports` has `x-portcullis-rate: <reportsRate>`, plus `morePaths`. */
  function writeDocument(reportsRate: string, morePaths: string[] = []): void {
    writeFileSync(openapiPath, [
      'openapi: 3.1.0',
      'info: { title: t, version: "1" }',
      'paths:',
      '  /reports:',
      '    post:',
      `      x-portcullis-rate: ${reportsRate}`,
      '      responses: { "200": { description: ok } }',
      ...morePaths,
    ].join('\n'));
  }

  before(async () => {
    writeDocument('1/m', [
      '  /orders/{id}:',
      '    parameters: [{ name: id, in: path, required: true, schema: { type: string } }]',
      '    get:',
      '      responses: { "200": { description: ok } }',
      '  /health:',
      '    get:',
      '      responses: { "200": { description: ok } }',
    ]);
    writeFileSync(configPath, [
      `openapi: { file: ${JSON.stringify(openapiPath)} }`,
      'routes:',
      "  - { method: GET, path: '/orders/{id}', rate: 2/m }",
    ].join('\n'));
    upstream = await startRecordingUpstream((req, res) => {
      req.resume();
      res.writeHead(200, { 'content-length': '2' });
      res.end('ok');
    });
    gateway = await startTestGateway(upstream.url, storePath, { env: { PORTCULLIS_CONFIG: configPath, PORTCULLIS_LIMITS_KEY_RATE: '100/s' } });
  });
  after(async () => {
    await gateway.stop();
    await upstream.close();
    directory.remove();
  });

  it('limits each key on a route with a rate, leaves its other routes and other keys alone, and sends both policies', async () => {
    const { key } = await createKeyInStore(storePath);
    const { key: otherKey } = await createKeyInStore(storePath);
    const get = (path: string, apiKey: string) => request(`${gateway.url}${path}`, { headers: { 'x-api-key': apiKey } });

    const seen: string[][] = [];
    for (let i = 1; i <= 2; i++) {
      const response = await get(`/orders/${i}`, key);
      assert.equal(response.statusCode, 200);
      await response.body.dump();
      seen.push([...lines(response.headers['ratelimit-policy']), ...lines(response.headers.ratelimit)]);
    }
    // One request per 30 s, a burst of 2; the key's own 100/s on field lines of their own.
    assert.deepEqual(seen[0], ['"route";q=2;w=60', '"key";q=100;w=1', '"route";r=1;t=30', '"key";r=99;t=1']);
    assert.deepEqual(seen[1]?.[2], '"route";r=0;t=60');

    const before = upstream.requests.length;
    const refused = await get('/orders/3', key);
    assert.equal(refused.statusCode, 429);
    assert.equal(refused.headers['retry-after'], '30');
    assert.deepEqual(lines(refused.headers.ratelimit), ['"route";r=0;t=30']);
    const problem = (await refused.body.json()) as { code: string; detail: string };
    assert.equal(problem.code, 'rate_limited');
    assert.match(problem.detail, /on this route/);
    assert.equal(upstream.requests.length, before, 'a refused request never reaches the upstream');

    const health = await get('/health', key);
    assert.equal(health.statusCode, 200, 'another route of the same key is not limited');
    assert.deepEqual(lines(health.headers['ratelimit-policy']), ['"key";q=100;w=1']);
    await health.body.dump();
    const other = await get('/orders/4', otherKey);
    assert.equal(other.statusCode, 200, 'another key on the same route is not limited');
    await other.body.dump();
  });

  it('takes the rate from the OpenAPI document (x-portcullis-rate)', async () => {
    const { key } = await createKeyInStore(storePath);
    const post = () => request(`${gateway.url}/reports`, { method: 'POST', headers: { 'x-api-key': key } });
    const first = await post();
    assert.equal(first.statusCode, 200);
    await first.body.dump();
    const second = await post();
    assert.equal(second.statusCode, 429);
    await second.body.dump();
  });

  it('refuses to start with a rate it cannot read, naming where it is', () => {
    writeDocument('lots');
    const config = loadConfig({ env: { PORTCULLIS_OPENAPI_FILE: openapiPath, PORTCULLIS_LOG_LEVEL: 'silent' } });
    assert.throws(() => loadRoutes(config), (error: unknown) => error instanceof ConfigError && /x-portcullis-rate/.test(error.message) && /expected a rate such as 100\/s/.test(error.message));
    const badRule = join(directory.path, 'bad-rule.yaml');
    writeFileSync(badRule, "routes:\n  - { method: GET, path: '/x', rate: often }\n");
    assert.throws(() => loadConfig({ env: { PORTCULLIS_CONFIG: badRule } }), (error: unknown) => error instanceof ConfigError && /routes\.0\.rate: expected a rate/.test(error.message));
  });
});
