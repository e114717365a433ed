import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { request } from 'undici';
import { loadConfig } from '../../src/app/config.ts';
import { startGateway, type RunningGateway } from '../../src/app/gateway.ts';
import { createLogger } from '../../src/telemetry/logger.ts';
import { adminCall, createAdminToken } from '../support/admin-client.ts';
import { createKeyInStore } from '../support/in-process-gateway.ts';
import { temporaryDirectory } from '../support/processes.ts';
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.ts';

/**
 * Response checks end to end (openapi.responseChecks): a real upstream answers with documented
 * bodies, extra fields, wrong types, an undocumented status and a body over the size bound; the
 * client gets exactly the upstream's bytes every time, and the findings are counted as
 * would-denies with their codes, stored for `portcullis report`, and logged with their paths.
 */

const DESCRIPTION = [
  'openapi: 3.1.0',
  'info: { title: t, version: "1" }',
  'paths:',
  '  /orders/{id}:',
  '    parameters: [{ name: id, in: path, required: true, schema: { type: string } }]',
  '    get:',
  '      responses:',
  '        "200": { description: ok, content: { application/json: { schema: { $ref: "#/components/schemas/Order" } } } }',
  '        "4XX": { description: client error, content: { application/problem+json: { schema: { type: object, properties: { title: { type: string } } } } } }',
  'components:',
  '  schemas:',
  '    Base: { type: object, properties: { id: { type: string } } }',
  '    Line: { type: object, properties: { sku: { type: string }, qty: { type: integer } } }',
  '    Order:',
  '      allOf:',
  '        - $ref: "#/components/schemas/Base"',
  '        - type: object',
  '          properties:',
  '            item: { type: string }',
  '            lines: { type: array, items: { $ref: "#/components/schemas/Line" } }',
  '            labels: { type: object, additionalProperties: { type: string } }',
].join('\n');

const LARGE_LINES = Array.from({ length: 200 }, (_, index) => ({ sku: `s${index}`, qty: index, secretCost: index }));

/** What the upstream answers for each order id: status, content type, body bytes (chunked when `chunks` > 1). */
const ANSWERS: Record<string, { status: number; type: string; body: string; chunks?: number }> = {
  documented: { status: 200, type: 'application/json', body: JSON.stringify({ id: 'documented', item: 'tea', lines: [{ sku: 'a', qty: 1 }], labels: { any: 'thing' } }) },
  extra: { status: 200, type: 'application/json; charset=utf-8', body: JSON.stringify({ id: 'extra', item: 'tea', internalNote: 'do not show', lines: [{ sku: 'a', qty: 1, cost: 3 }, { sku: 'b', qty: 2, cost: 4 }] }) },
  mistyped: { status: 200, type: 'application/json', body: JSON.stringify({ id: 'mistyped', item: 5, lines: [{ sku: 'a', qty: 1.5 }] }) },
  broken: { status: 200, type: 'application/json', body: '{"id": "broken", ' },
  missing: { status: 404, type: 'application/problem+json', body: JSON.stringify({ title: 'not found', detail: 'undocumented but in an open range' }) },
  failing: { status: 500, type: 'application/json', body: JSON.stringify({ error: 'boom', stack: 'at secret.js:1' }) },
  large: { status: 200, type: 'application/json', body: JSON.stringify({ id: 'large', extraTop: true, lines: LARGE_LINES }), chunks: 8 },
};

function answer(req: IncomingMessage, res: ServerResponse): void {
  req.resume();
  const id = decodeURIComponent((req.url as string).split('/').pop() as string);
  const planned = ANSWERS[id];
  if (planned === undefined) {
    res.writeHead(200, { 'content-type': 'text/plain' }).end('?');
    return;
  }
  const bytes = Buffer.from(planned.body);
  const chunks = planned.chunks ?? 1;
  if (chunks === 1) {
    res.writeHead(planned.status, { 'content-type': planned.type, 'content-length': bytes.length });
    res.end(bytes);
    return;
  }
  // Chunked, without a Content-Length: the size bound holds while the body streams.
  res.writeHead(planned.status, { 'content-type': planned.type });
  const size = Math.ceil(bytes.length / chunks);
  for (let offset = 0; offset < bytes.length; offset += size) res.write(bytes.subarray(offset, offset + size));
  res.end();
}

interface LogLine {
  msg: string;
  code?: string;
  api?: string;
  route?: string;
  status?: number;
  paths?: string[];
}

interface StartedGateway {
  url: string;
  gateway: RunningGateway;
  logs: LogLine[];
  metrics(): Promise<string>;
}

function metricValue(metrics: string, line: string): number {
  const found = metrics.split('\n').find((text) => text.startsWith(`${line} `));
  return found === undefined ? 0 : Number(found.slice(found.lastIndexOf(' ') + 1));
}

async function startWith(upstream: string, storePath: string, openapiPath: string, env: Record<string, string>): Promise<StartedGateway> {
  const logs: LogLine[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim() !== '') logs.push(JSON.parse(line) as LogLine);
      done();
    },
  });
  const config = loadConfig({
    env: { PORTCULLIS_CHANGE_FEED_POLL_INTERVAL: '20ms', PORTCULLIS_OPENAPI_FILE: openapiPath, ...env },
    flags: [
      { field: 'listen', value: '127.0.0.1:0', flag: '--listen' },
      { field: 'upstream.url', value: upstream, flag: '--upstream' },
      { field: 'store', value: storePath, flag: '--store' },
      { field: 'admin.listen', value: '127.0.0.1:0', flag: '--admin-listen' },
    ],
  });
  const gateway = await startGateway(config, createLogger('warn', sink));
  const token = (await createAdminToken(gateway.store, 'read')).token;
  return {
    url: `http://127.0.0.1:${gateway.address.port}`,
    gateway,
    logs,
    async metrics() {
      const response = await adminCall<string>(gateway.admin!.url, 'GET', '/metrics', { token });
      assert.equal(response.status, 200);
      return response.body;
    },
  };
}

/** Waits until the checks made after the responses were sent have reported. */
async function settle(gateway: StartedGateway, checked: number): Promise<string> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const metrics = await gateway.metrics();
    const total = ['checked', 'too_large', 'encoded', 'busy', 'aborted'].reduce((sum, outcome) => sum + metricValue(metrics, `portcullis_response_checks_total{outcome="${outcome}"}`), 0);
    if (total >= checked) return metrics;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`fewer than ${checked} responses were judged`);
}

describe('response checks', () => {
  const directory = temporaryDirectory();
  const openapiPath = join(directory.path, 'openapi.yaml');
  let upstream: RecordingUpstream;
  let checking: StartedGateway;
  let off: StartedGateway;
  let key: string;
  let offKey: string;

  before(async () => {
    writeFileSync(openapiPath, DESCRIPTION);
    upstream = await startRecordingUpstream(answer);
    checking = await startWith(upstream.url, join(directory.path, 'checking.db'), openapiPath, { PORTCULLIS_OPENAPI_RESPONSE_CHECKS_SAMPLE_RATE: '1', PORTCULLIS_OPENAPI_RESPONSE_CHECKS_MAX_BODY_SIZE: '2kb' });
    off = await startWith(upstream.url, join(directory.path, 'off.db'), openapiPath, {});
    key = (await createKeyInStore(join(directory.path, 'checking.db'))).key;
    offKey = (await createKeyInStore(join(directory.path, 'off.db'))).key;
  });
  after(async () => {
    await checking.gateway.stop();
    await off.gateway.stop();
    await upstream.close();
    directory.remove();
  });

  async function fetchBytes(gateway: StartedGateway, id: string, apiKey: string): Promise<{ status: number; bytes: Buffer; type: string | undefined }> {
    const response = await request(`${gateway.url}/orders/${id}`, { headers: { 'x-api-key': apiKey } });
    return { status: response.statusCode, bytes: Buffer.from(await response.body.arrayBuffer()), type: response.headers['content-type'] as string | undefined };
  }

  it('relays every response byte for byte, and reports what the description does not document, by code and path', async () => {
    const ids = Object.keys(ANSWERS);
    for (const id of ids) {
      const planned = ANSWERS[id]!;
      const received = await fetchBytes(checking, id, key);
      assert.equal(received.status, planned.status, id);
      assert.equal(received.type, planned.type, id);
      assert.ok(received.bytes.equals(Buffer.from(planned.body)), `${id}: the client got other bytes than the upstream sent`);
    }
    const metrics = await settle(checking, ids.length);
    const wouldDeny = (code: string) => metricValue(metrics, `portcullis_would_deny_total{code="${code}"}`);
    // extra, and missing (404: its range 4XX documents `title`, not `detail`); large is not read: over the bound.
    assert.equal(wouldDeny('response_undocumented_field'), 2);
    // failing: 500 is neither documented nor in a documented range; 404 is in 4XX.
    assert.equal(wouldDeny('response_undocumented_status'), 1);
    // mistyped (two places) and broken (not JSON): one each.
    assert.equal(wouldDeny('response_schema_mismatch'), 2);
    assert.equal(metricValue(metrics, 'portcullis_response_checks_total{outcome="too_large"}'), 1);
    assert.equal(metricValue(metrics, 'portcullis_response_checks_total{outcome="checked"}'), ids.length - 1);

    const finding = (code: string) => checking.logs.find((line) => line.code === code && line.msg === 'response not as documented (report-only)');
    // The first finding of each code is logged at once (extra's, which came before missing's).
    const fields = finding('response_undocumented_field');
    assert.deepEqual([...(fields?.paths ?? [])].sort(), ['$.internalNote', '$.lines[*].cost']);
    assert.equal(fields?.route, 'GET /orders/{id}');
    assert.equal(fields?.api, 'default');
    assert.equal(fields?.status, 200);
    const status = finding('response_undocumented_status');
    assert.equal(status?.status, 500);
    assert.equal(status?.paths, undefined);
    const mismatch = finding('response_schema_mismatch');
    assert.deepEqual([...(mismatch?.paths ?? [])].sort(), ['$.item', '$.lines[*].qty']);
    // Paths only: no value the upstream sent is in any log line.
    const logged = JSON.stringify(checking.logs);
    for (const value of ['do not show', 'secret.js', 'boom', 'tea']) assert.ok(!logged.includes(value), value);
    // The large body's undocumented fields were never read.
    assert.ok(!logged.includes('secretCost') && !logged.includes('extraTop'));
  });

  it('keeps the findings with the would-denies that `portcullis report` and /api/would-denies read', async () => {
    await checking.gateway.flushUsage();
    const totals = await checking.gateway.store.wouldDenyTotals(Date.now() - 3_600_000, Date.now() + 60_000, 100);
    const byCode = (code: string) => totals.filter((row) => row.code === code).reduce((sum, row) => sum + row.requests, 0);
    assert.equal(byCode('response_undocumented_field'), 2);
    assert.equal(byCode('response_undocumented_status'), 1);
    assert.equal(byCode('response_schema_mismatch'), 2);
    assert.ok(totals.every((row) => row.route === 'GET /orders/{id}' && row.api === 'default'));
  });

  it('checks nothing with sampleRate 0 (the default), and relays the same bytes', async () => {
    for (const id of ['extra', 'failing']) {
      const received = await fetchBytes(off, id, offKey);
      assert.ok(received.bytes.equals(Buffer.from(ANSWERS[id]!.body)), id);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
    const metrics = await off.metrics();
    assert.doesNotMatch(metrics, /portcullis_response_checks_total/);
    assert.doesNotMatch(metrics, /response_undocumented/);
    assert.ok(!off.logs.some((line) => line.msg === 'response not as documented (report-only)'));
  });
});
