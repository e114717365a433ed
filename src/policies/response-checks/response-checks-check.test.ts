import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fakeContext } from '../../../test/support/fake-context.ts';
import type { Operation } from '../../routes/operation.ts';
import { ANY_SHAPE, JSON_TYPE_BITS, type ResponseShape } from '../../routes/operation-responses.ts';
import type { RequestContext } from '../request-context.ts';
import type { ResponseCheckOutcome, ResponseFinding, ResponseFindings } from '../response-findings.ts';
import { createResponseChecks, type ResponseChecksOptions } from './response-checks-check.ts';
import { responseChecks } from './index.ts';
import type { ApiDefinition, PolicyParts } from '../policy.ts';

const ORDER: ResponseShape = { types: JSON_TYPE_BITS.object, properties: new Map([['id', { ...ANY_SHAPE, types: JSON_TYPE_BITS.string }]]), patterns: [], additional: 'closed', items: null };

const OPERATION: Operation = {
  method: 'GET',
  template: '/orders/{id}',
  source: 'test',
  scopes: null,
  maxBodySize: null,
  rate: null,
  validation: null,
  responses: { byStatus: new Map<string, ResponseShape | null>([['200', ORDER], ['204', null], ['4XX', ANY_SHAPE]]) },
};

interface Recorded {
  status: number;
  outcome: ResponseCheckOutcome;
  findings: readonly ResponseFinding[];
}

function recorder(): ResponseFindings & { seen: Recorded[] } {
  const seen: Recorded[] = [];
  return { seen, recordResponse: (_context, status, outcome, findings) => seen.push({ status, outcome, findings }) };
}

function checkWith(options: Partial<ResponseChecksOptions> & { findings: ResponseFindings }) {
  const check = createResponseChecks({ apis: [{ sampleRate: 1, maxBodySize: 64 }], ...options });
  assert.ok(check !== null && check.onUpstreamResponse !== undefined);
  return { check, onResponse: check.onUpstreamResponse.bind(check) };
}

function context(method = 'GET'): RequestContext {
  return fakeContext({ method, url: '/orders/1' }, { operation: OPERATION, api: { name: 'default', index: 0 } });
}

/** What the engine does with a response: the hook, then each chunk, then the end; resolves once the check has reported. */
async function relay(onResponse: (context: RequestContext, headers: string[], status: number) => string[], request: RequestContext, status: number, headers: string[], chunks: string[]): Promise<void> {
  const given = [...headers];
  const returned = onResponse(request, given, status);
  assert.equal(returned, given, 'the headers are passed on untouched');
  assert.deepEqual(returned, headers);
  const tap = request.responseTap ?? null;
  if (tap === null) return;
  for (const chunk of chunks) tap.data(Buffer.from(chunk));
  tap.end();
  await new Promise((resolve) => setImmediate(resolve));
}

const JSON_HEADERS = ['Content-Type', 'application/json'];

describe('response checks', () => {
  it('is no check when no API samples responses', () => {
    assert.equal(createResponseChecks({ apis: [{ sampleRate: 0, maxBodySize: 64 }, null], findings: recorder() }), null);
  });

  it('passes every request', () => {
    const { check } = checkWith({ findings: recorder() });
    assert.equal(check.run(context()), null);
  });

  it('reads a JSON body across chunks and reports its undocumented fields after the end', async () => {
    const findings = recorder();
    const { onResponse } = checkWith({ findings });
    const request = context();
    onResponse(request, [...JSON_HEADERS], 200);
    request.responseTap?.data(Buffer.from('{"id":"1",'));
    request.responseTap?.data(Buffer.from('"token":"x"}'));
    request.responseTap?.end();
    assert.equal(findings.seen.length, 0, 'nothing is judged before a later turn of the event loop');
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(findings.seen, [{ status: 200, outcome: 'checked', findings: [{ code: 'response_undocumented_field', paths: ['$.token'], truncated: false }] }]);
  });

  it('reports an undocumented status, and a body that is not JSON', async () => {
    const findings = recorder();
    const { onResponse } = checkWith({ findings });
    await relay(onResponse, context(), 500, JSON_HEADERS, ['{"error":"x"}']);
    await relay(onResponse, context(), 200, ['content-type', 'application/vnd.api+json'], ['{"id":']);
    assert.deepEqual(findings.seen.map((seen) => [seen.status, seen.findings.map((finding) => [finding.code, finding.paths])]), [
      [500, [['response_undocumented_status', []]]],
      [200, [['response_schema_mismatch', ['$']]]],
    ]);
  });

  it('does not read a body past maxBodySize, by its Content-Length or as it streams', async () => {
    const findings = recorder();
    const { onResponse } = checkWith({ findings });
    const large = `{"id":"1","secret":"${'x'.repeat(80)}"}`;
    await relay(onResponse, context(), 200, [...JSON_HEADERS, 'Content-Length', String(large.length)], [large]);
    await relay(onResponse, context(), 200, JSON_HEADERS, [large.slice(0, 40), large.slice(40)]);
    assert.deepEqual(findings.seen.map((seen) => [seen.outcome, seen.findings.length]), [['too_large', 0], ['too_large', 0]]);
  });

  it('does not read encoded, non-JSON, HEAD or 204 bodies, nor more bodies at once than allowed', async () => {
    const findings = recorder();
    const { onResponse } = checkWith({ findings, maxConcurrentBodies: 1 });
    await relay(onResponse, context(), 200, [...JSON_HEADERS, 'Content-Encoding', 'gzip'], ['\x1f\x8b']);
    await relay(onResponse, context(), 200, ['Content-Type', 'text/plain'], ['{"secret":1}']);
    await relay(onResponse, context('HEAD'), 200, JSON_HEADERS, []);
    await relay(onResponse, context(), 204, [], []);
    const first = context();
    onResponse(first, [...JSON_HEADERS], 200);
    await relay(onResponse, context(), 200, JSON_HEADERS, ['{"secret":1}']);
    first.responseTap?.data(Buffer.from('{"id":"1"}'));
    first.responseTap?.abort();
    // The copy the aborted one held is given back: the next body is read.
    await relay(onResponse, context(), 200, JSON_HEADERS, ['{"other":1}']);
    assert.deepEqual(findings.seen.map((seen) => [seen.outcome, seen.findings.length]), [['encoded', 0], ['checked', 0], ['checked', 0], ['checked', 0], ['busy', 0], ['aborted', 0], ['checked', 1]]);
  });

  it('samples at the API\'s rate, and never without documented responses', async () => {
    const findings = recorder();
    let next = 0;
    const draws = [0.05, 0.5, 0.09, 0.95];
    const { onResponse } = checkWith({ findings, apis: [{ sampleRate: 0.1, maxBodySize: 64 }], random: () => draws[next++ % draws.length] as number });
    for (let index = 0; index < 4; index++) await relay(onResponse, context(), 500, JSON_HEADERS, ['{}']);
    assert.equal(findings.seen.length, 2);
    const undocumented = fakeContext({ url: '/x' }, { operation: { ...OPERATION, responses: undefined } as unknown as Operation, api: { name: 'default', index: 0 } });
    await relay(onResponse, undocumented, 500, JSON_HEADERS, ['{}']);
    assert.equal(undocumented.responseTap ?? null, null);
    assert.equal(findings.seen.length, 2);
  });

  it('takes each API\'s own settings, and samples only APIs whose operations carry documented responses', async () => {
    const findings = recorder();
    const withResponses = { table: null, operations: [OPERATION] } as unknown as ApiDefinition['routes'];
    const withoutResponses = { table: null, operations: [{ ...OPERATION, responses: undefined }] } as unknown as ApiDefinition['routes'];
    const api = (index: number, routes: ApiDefinition['routes']): ApiDefinition => ({ name: `api${index}`, index, hosts: [], pathPrefix: '', stripPrefix: false, routes });
    const settings = (sampleRate: number) => ({ routes: { openapi: { responseChecks: { sampleRate, maxBodySize: 64 } } } });
    const config = { openapi: { responseChecks: { sampleRate: 0, maxBodySize: 64 } }, apis: [settings(1), settings(0), settings(1)] };
    const parts = { routes: withResponses, apis: [api(0, withResponses), api(1, withResponses), api(2, withoutResponses)], responseFindings: findings } as unknown as PolicyParts;
    const check = responseChecks.create(config, parts);
    assert.ok(check?.onUpstreamResponse !== undefined);
    for (const index of [0, 1, 2]) {
      const request = fakeContext({ url: '/orders/1' }, { operation: OPERATION, api: { name: `api${index}`, index } });
      check.onUpstreamResponse(request, [], 500);
      request.responseTap?.end();
    }
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(findings.seen.map((seen) => seen.findings[0]?.code), ['response_undocumented_status'], 'only the first API samples');
    assert.equal(responseChecks.create(config, { ...parts, responseFindings: undefined } as unknown as PolicyParts), null, 'nowhere to report: no check');
    assert.equal(responseChecks.create({ ...config, apis: [settings(0), settings(0), settings(0)] }, parts), null);
  });
});
