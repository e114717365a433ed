import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { PassThrough } from 'node:stream';
import { request } from 'undici';
import { loadConfig } from '../../src/app/config.ts';
import { startGateway, type RunningGateway } from '../../src/app/gateway.ts';
import { createLogger } from '../../src/telemetry/logger.ts';
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.ts';
import { createKeyInStore } from '../support/in-process-gateway.ts';
import { temporaryDirectory } from '../support/processes.ts';

/**
 * The gateway in front of a description split over files (test/fixtures/openapi/workshop/):
 * files that reference further files relative to themselves, a remote schema read from its
 * local copy through `openapi.refMap`, and a pattern that is valid ECMA-262 only without the
 * Unicode flag: the gateway starts, warns once about the pattern, and validates with all of it.
 */

const WORKSHOP = resolve(import.meta.dirname, '..', 'fixtures', 'openapi', 'workshop');

describe('a multi-file OpenAPI description', () => {
  const directory = temporaryDirectory();
  const storePath = join(directory.path, 'keys.db');
  const logLines: Array<Record<string, unknown>> = [];
  let upstream: RecordingUpstream;
  let gateway: RunningGateway;
  let url: string;
  let key: string;

  before(async () => {
    const configPath = join(directory.path, 'portcullis.yaml');
    writeFileSync(configPath, [
      'openapi:',
      `  file: ${JSON.stringify(join(WORKSHOP, 'openapi.yaml'))}`,
      '  refMap:',
      `    "https://schemas.example.com/common/v1/": ${JSON.stringify(join(WORKSHOP, 'vendored', 'common-v1') + '/')}`,
    ].join('\n'));
    upstream = await startRecordingUpstream((req, res) => {
      req.resume();
      res.writeHead(200, { 'content-length': '2' });
      res.end('ok');
    });
    const config = loadConfig({
      configFile: configPath,
      env: { PORTCULLIS_CHANGE_FEED_POLL_INTERVAL: '20ms' },
      flags: [
        { field: 'listen', value: '127.0.0.1:0', flag: '--listen' },
        { field: 'upstream.url', value: upstream.url, flag: '--upstream' },
        { field: 'store', value: storePath, flag: '--store' },
        { field: 'admin.listen', value: '127.0.0.1:0', flag: '--admin-listen' },
      ],
    });
    const logs = new PassThrough();
    logs.on('data', (chunk: Buffer) => {
      for (const line of chunk.toString('utf8').split('\n')) if (line !== '') logLines.push(JSON.parse(line) as Record<string, unknown>);
    });
    gateway = await startGateway(config, createLogger('info', logs));
    url = `http://127.0.0.1:${gateway.address.port}`;
    key = (await createKeyInStore(storePath)).key;
  });

  after(async () => {
    await gateway.stop();
    await upstream.close();
    directory.remove();
  });

  async function send(method: string, path: string, body?: unknown): Promise<{ status: number; code: string | undefined; pointer: string | undefined }> {
    const response = await request(`${url}${path}`, {
      method: method as 'GET',
      headers: body === undefined ? { 'x-api-key': key } : { 'x-api-key': key, 'content-type': 'application/json' },
      body: body === undefined ? null : JSON.stringify(body),
    });
    const text = await response.body.text();
    const problem = response.headers['content-type'] === 'application/problem+json' ? (JSON.parse(text) as { code: string; errors?: Array<{ pointer: string }> }) : null;
    return { status: response.statusCode, code: problem?.code, pointer: problem?.errors?.[0]?.pointer };
  }

  it('starts, and warns once about the pattern it compiles without the Unicode flag', () => {
    const findings = logLines.filter((line) => typeof line.finding === 'string');
    assert.equal(findings.length, 1, JSON.stringify(findings));
    assert.equal(findings[0]!.level, 40);
    assert.match(findings[0]!.finding as string, /schemas\/common\.yaml#\/Sku\/pattern\) is valid ECMA-262 only without the Unicode flag/);
    assert.ok(logLines.some((line) => line.operations === 4), 'four operations compiled');
  });

  it('passes requests the files describe, wherever each part is declared', async () => {
    assert.equal((await send('GET', '/widgets?limit=5')).status, 200);
    assert.equal((await send('GET', '/widgets/w-001?fields=parts')).status, 200);
    assert.equal((await send('GET', '/v0/widgets/w-001')).status, 200);
    const widget = { name: 'w', tag: 'eightch8', sku: 'ABC-1234', vendor: { name: 'Acme', country: 'FR' }, parts: [{ code: 'w-001', parts: [{ code: 'w-002' }] }] };
    assert.equal((await send('POST', '/widgets', widget)).status, 200);
  });

  it('refuses what they forbid, with a pointer into the request', async () => {
    const cases: Array<[string, string, unknown, string]> = [
      ['GET', '/widgets?limit=51', undefined, '/query/limit'],
      ['GET', '/widgets/x-001', undefined, '/path/widgetId'],
      ['GET', '/widgets/w-001?fields=colour', undefined, '/query/fields'],
      ['POST', '/widgets', { name: 'w', sku: 'abc-1234' }, '/body/sku'],
      ['POST', '/widgets', { name: 'w', tag: 'ninechars' }, '/body/tag'],
      ['POST', '/widgets', { name: 'w', vendor: { name: 'Acme', country: 'XX' } }, '/body/vendor/country'],
      ['POST', '/widgets', { name: 'w', parts: [{ code: 'w-001', parts: [{ code: 'nope' }] }] }, '/body/parts/0/parts/0/code'],
    ];
    for (const [method, path, body, pointer] of cases) {
      const before = upstream.requests.length;
      const answer = await send(method, path, body);
      assert.deepEqual([answer.status, answer.code, answer.pointer], [400, 'request_invalid', pointer], `${method} ${path} ${JSON.stringify(body)}`);
      assert.equal(upstream.requests.length, before);
    }
    assert.equal((await send('DELETE', '/widgets')).status, 405);
    assert.equal((await send('GET', '/gadgets')).status, 404);
  });
});
