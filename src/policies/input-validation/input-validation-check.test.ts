import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Ajv } from 'ajv';
import { fakeContext, fakeParts, type FakeRequest } from '../../../test/support/fake-context.ts';
import type { Denial, ProblemError } from '../../http/error-catalogue.ts';
import { BodyTooLargeError, LimitedBodyStream } from '../../http/request-body.ts';
import type { Operation } from '../../routes/operation.ts';
import type { OperationValidation, ParameterSpec } from '../../routes/operation-validation.ts';
import { createInputValidationCheck } from './input-validation-check.ts';
import { inputValidation } from './index.ts';
import type { ReportOnlySettings } from '../report-only.ts';

/** The settings of a pipeline with nothing in report mode. */
const ENFORCING: ReportOnlySettings = { reportOnly: { policies: new Set(), header: false } };

const LIMITS = { maxBodySize: 1000, maxJsonBodySize: 100, maxJsonDepth: 3, maxBufferedBytes: 1000 };

const ajv = new Ajv({ strict: false, allErrors: false });

/** POST /orders: a JSON order (validated), or plain text (streamed); a body is required. */
const ORDER_BODY: NonNullable<OperationValidation['body']> = {
  required: true,
  mediaTypes: [
    { mediaType: 'application/json', json: true, validate: ajv.compile({ type: 'object', required: ['item'], properties: { item: { type: 'string' }, count: { type: 'integer', minimum: 1 }, note: {} }, additionalProperties: false }) },
    { mediaType: 'text/plain', json: false, validate: null },
  ],
  names: ['application/json', 'text/plain'],
  accepted: 'application/json, text/plain',
};

function parameter(name: string, overrides: Partial<ParameterSpec> = {}): ParameterSpec {
  return { name, key: name.toLowerCase(), required: false, array: false, delimiter: null, valueType: 'string', captureIndex: -1, ...overrides };
}

function validation(overrides: Partial<OperationValidation>): OperationValidation {
  return { path: [], query: [], headers: [], refuseUnknownQuery: true, body: null, validateParameters: null, ...overrides };
}

function operation(method: string, template: string, described: OperationValidation | null, maxBodySize: number | null = null): Operation {
  return { method, template, source: `test ${method} ${template}`, scopes: null, maxBodySize, rate: null, validation: described };
}

const CREATE_ORDER = operation('POST', '/orders', validation({ body: ORDER_BODY }));
const GET_ORDER = operation('GET', '/orders/{orderId}', validation({
  path: [parameter('orderId', { required: true, valueType: 'integer', captureIndex: 0 })],
  query: [parameter('limit', { valueType: 'integer' })],
  validateParameters: ajv.compile({
    type: 'object',
    required: ['path'],
    properties: {
      path: { type: 'object', required: ['orderId'], properties: { orderId: { type: 'integer' } } },
      query: { type: 'object', properties: { limit: { type: 'integer', maximum: 100 } } },
    },
  }),
}));
const DELETE_ORDER = operation('DELETE', '/orders/{orderId}', validation({}));
/** A route rule: no description, a body limit of its own. */
const UPLOAD_RULE = operation('PUT', '/uploads', null, 10);

const check = createInputValidationCheck(LIMITS);

/** A POST of `value`, with its Content-Length. */
function json(value: string, contentType = 'application/json', extraHeaders: string[] = []): FakeRequest {
  return { method: 'POST', url: '/orders', headers: ['Content-Type', contentType, 'Content-Length', String(Buffer.byteLength(value)), ...extraHeaders], body: value };
}

async function validate(request: FakeRequest, on: Operation | null, pathParameters: string[] | null = null) {
  const context = fakeContext(request, { operation: on, pathParameters });
  const outcome = (await check.run(context)) as Denial | null;
  return { outcome, context };
}

const invalid = (pointer: string, message: string) => ({ code: 'request_invalid', status: 400, errors: [{ pointer, message }] });

type Expected = null | { code: string; status: number; detail?: string; headers?: ReadonlyArray<readonly [string, string]>; errors?: ProblemError[] };

function assertOutcome(outcome: Denial | null, expected: Expected): void {
  if (expected === null) return assert.equal(outcome, null);
  assert.equal(outcome?.code, expected.code);
  assert.equal(outcome?.status, expected.status);
  if (expected.detail !== undefined) assert.equal(outcome?.detail, expected.detail);
  if (expected.headers !== undefined) assert.deepEqual(outcome?.headers, expected.headers);
  if (expected.errors !== undefined) assert.deepEqual(outcome?.errors, expected.errors);
}

const tooLarge = (limit: number) => ({ code: 'body_too_large', status: 413, detail: `The request body exceeds the limit of ${limit} bytes.`, headers: [['connection', 'close']] as const });

describe('input-validation check: body size', () => {
  const cases: Array<{ name: string; request: FakeRequest; on: Operation | null; expected: Expected }> = [
    { name: 'no body', request: { method: 'GET' }, on: null, expected: null },
    { name: 'a body at the global limit', request: { method: 'POST', headers: ['Content-Length', '1000'] }, on: null, expected: null },
    { name: 'a body declared one byte over the global limit', request: { method: 'POST', headers: ['Content-Length', '1001'] }, on: null, expected: tooLarge(1000) },
    { name: 'a body over a route rule\'s own limit', request: { method: 'PUT', headers: ['Content-Length', '11'] }, on: UPLOAD_RULE, expected: tooLarge(10) },
    { name: 'a body within a route rule\'s own limit', request: { method: 'PUT', headers: ['Content-Length', '10'] }, on: UPLOAD_RULE, expected: null },
    { name: 'a streamed (non-JSON) body of a described operation, over the global limit', request: { method: 'POST', headers: ['Content-Type', 'text/plain', 'Content-Length', '1001'] }, on: CREATE_ORDER, expected: tooLarge(1000) },
    { name: 'a JSON body over the JSON limit, by Content-Length', request: { method: 'POST', headers: ['Content-Type', 'application/json', 'Content-Length', '101'] }, on: CREATE_ORDER, expected: tooLarge(100) },
  ];
  for (const { name, request, on, expected } of cases) {
    it(`${expected === null ? 'passes' : `refuses (${expected.status})`}: ${name}`, async () => {
      const { outcome, context } = await validate(request, on);
      assertOutcome(outcome, expected);
      assert.equal(context.forwardBody, null, 'a body with Content-Length is streamed as it is');
    });
  }

  it('counts a chunked body as it streams, passing it whole within the limit and failing once it passes it', async () => {
    const read = async (body: string[]) => {
      const { outcome, context } = await validate({ method: 'PUT', headers: ['Transfer-Encoding', 'chunked'], body }, UPLOAD_RULE);
      assert.equal(outcome, null, 'its length is not known before it streams');
      assert.ok(context.forwardBody instanceof LimitedBodyStream);
      const received: Buffer[] = [];
      for await (const chunk of context.forwardBody) received.push(chunk as Buffer);
      return Buffer.concat(received).toString();
    };
    assert.equal(await read(['12345', '67890']), '1234567890');
    await assert.rejects(read(['123456', '78901']), (error: unknown) => error instanceof BodyTooLargeError && error.limit === 10);
  });

  it('refuses a chunked JSON body once it passes the JSON limit', async () => {
    const { outcome, context } = await validate({ method: 'POST', headers: ['Content-Type', 'application/json', 'Transfer-Encoding', 'chunked'], body: [`{"item":"${'x'.repeat(60)}`, `${'y'.repeat(60)}"}`] }, CREATE_ORDER);
    assertOutcome(outcome, tooLarge(100));
    assert.equal(context.forwardBody, null);
  });
});

describe('input-validation check: the body of a described operation', () => {
  const cases: Array<{ name: string; request: FakeRequest; expected: Expected; pointer?: string }> = [
    { name: 'a valid JSON body', request: json('{"item":"tea","count":2}'), expected: null },
    { name: 'a valid JSON body with a UTF-8 charset', request: json('{"item":"thé"}', 'application/json; charset=UTF-8'), expected: null },
    { name: 'a plain-text body, streamed unvalidated', request: { method: 'POST', headers: ['Content-Type', 'text/plain', 'Content-Length', '5'], body: 'hello' }, expected: null },
    { name: 'a missing required property', request: json('{"count":2}'), expected: invalid('/body/item', 'must have required property \'item\'') },
    { name: 'a value of the wrong type', request: json('{"item":"tea","count":"two"}'), expected: invalid('/body/count', 'must be integer') },
    { name: 'a value out of range', request: json('{"item":"tea","count":0}'), expected: invalid('/body/count', 'must be >= 1') },
    { name: 'a property the schema does not allow', request: json('{"item":"tea","price":0}'), expected: invalid('/body/price', 'must NOT have additional properties') },
    { name: 'a body that is not JSON', request: json('{"item":'), expected: { code: 'request_invalid', status: 400 }, pointer: '/body/item' },
    { name: 'a body that is not JSON at its top', request: json('{"item":"tea"} x'), expected: { code: 'request_invalid', status: 400 }, pointer: '/body' },
    { name: 'a duplicate key (read two ways by two parsers)', request: json('{"item":"tea","item":"coffee"}'), expected: { code: 'request_invalid', status: 400 }, pointer: '/body/item' },
    { name: 'keys that differ only in case (one field to a case-insensitive binder)', request: json('{"item":"tea","note":{"role":"user","Role":"admin"}}'), expected: { code: 'request_invalid', status: 400 }, pointer: '/body/note/Role' },
    { name: 'an integer beyond the safe range (another value to an int64 parser)', request: json('{"item":"tea","count":9007199254740993}'), expected: { code: 'request_invalid', status: 400 }, pointer: '/body/count' },
    { name: 'a number more precise than a double (100 here, more to a decimal parser)', request: json('{"item":"t","note":[100.00000000000000001]}'), expected: { code: 'request_invalid', status: 400 }, pointer: '/body/note/0' },
    { name: 'a __proto__ key', request: json('{"item":"tea","__proto__":{"admin":true}}'), expected: { code: 'request_invalid', status: 400 }, pointer: '/body/__proto__' },
    { name: 'nesting deeper than requests.maxJsonDepth', request: json('{"item":"tea","note":[[[1]]]}'), expected: { code: 'request_invalid', status: 400 }, pointer: '/body/note/0/0' },
    { name: 'an undeclared media type', request: json('<order/>', 'application/xml'), expected: { code: 'unsupported_media_type', status: 415, detail: 'This operation accepts application/json, text/plain.' } },
    { name: 'a body without Content-Type', request: { method: 'POST', headers: ['Content-Length', '2'], body: '{}' }, expected: { code: 'unsupported_media_type', status: 415, detail: 'The request body needs a Content-Type this operation accepts: application/json, text/plain.' } },
    { name: 'a JSON body in another charset', request: json('{"item":"tea"}', 'application/json; charset=iso-8859-1'), expected: { code: 'unsupported_media_type', status: 415, detail: 'JSON bodies must be UTF-8.' } },
    { name: 'a compressed JSON body', request: json('{"item":"tea"}', 'application/json', ['Content-Encoding', 'gzip']), expected: { code: 'unsupported_media_type', status: 415, detail: 'A JSON body that this operation validates cannot be compressed (Content-Encoding).' } },
    { name: 'two Content-Type lines', request: { method: 'POST', headers: ['Content-Type', 'application/json', 'Content-Type', 'text/plain', 'Content-Length', '2'], body: '{}' }, expected: invalid('/headers/content-type', 'must appear once') },
    { name: 'a Content-Type naming charset twice', request: json('{"item":"tea"}', 'application/json; charset=utf-8; charset=latin1'), expected: invalid('/headers/content-type', 'names the parameter "charset" more than once') },
    { name: 'a Content-Type naming a parameter twice, in two cases', request: json('hello', 'text/plain; Format=a; format=b'), expected: invalid('/headers/content-type', 'names the parameter "format" more than once') },
    { name: 'a Content-Type with a malformed parameter', request: json('{"item":"tea"}', 'application/json; charset'), expected: { code: 'unsupported_media_type', status: 415, detail: 'The Content-Type is not a valid media type with parameters (RFC 9110 §8.3.1); this operation accepts application/json, text/plain.' } },
    { name: 'no body where one is required', request: { method: 'POST', headers: ['Content-Type', 'application/json'] }, expected: invalid('/body', 'is required') },
  ];
  for (const { name, request, expected, pointer } of cases) {
    it(`${expected === null ? 'passes' : `refuses (${expected.status})`}: ${name}`, async () => {
      const { outcome } = await validate(request, CREATE_ORDER);
      assertOutcome(outcome, expected);
      if (pointer !== undefined) assert.equal(outcome?.errors?.[0]?.pointer, pointer);
    });
  }

  it('forwards exactly the bytes it read and validated', async () => {
    const sent = '{ "item": "tea",\n  "count": 2 }';
    const { outcome, context } = await validate({ ...json(sent), body: [sent.slice(0, 9), sent.slice(9)] }, CREATE_ORDER);
    assert.equal(outcome, null);
    assert.ok(Buffer.isBuffer(context.forwardBody));
    assert.equal(context.forwardBody.toString(), sent);
  });

  it('says why a body is not JSON, without echoing much of it', async () => {
    const { outcome } = await validate(json(`{"item": ${'x'.repeat(80)}}`), CREATE_ORDER);
    assert.match(outcome?.errors?.[0]?.message ?? '', /^is not acceptable JSON: /);
    assert.ok((outcome?.errors?.[0]?.message.length ?? 0) <= 160);
  });

  it('refuses a body sent to an operation that takes none', async () => {
    const { outcome } = await validate({ method: 'DELETE', url: '/orders/42', headers: ['Content-Type', 'application/json', 'Content-Length', '2'], body: '{}' }, DELETE_ORDER, ['42']);
    assertOutcome(outcome, invalid('/body', 'this operation takes no request body'));
  });
});

describe('input-validation check: parameters', () => {
  const cases: Array<{ name: string; url: string; captures: string[]; expected: Expected }> = [
    { name: 'valid path and query parameters', url: '/orders/42?limit=10', captures: ['42'], expected: null },
    { name: 'no query at all', url: '/orders/42', captures: ['42'], expected: null },
    { name: 'a path parameter of the wrong type', url: '/orders/abc', captures: ['abc'], expected: invalid('/path/orderId', 'must be integer') },
    { name: 'a query parameter out of range', url: '/orders/42?limit=500', captures: ['42'], expected: invalid('/query/limit', 'must be <= 100') },
    { name: 'a query parameter the operation does not declare', url: '/orders/42?debug=1', captures: ['42'], expected: invalid('/query/debug', 'is not a query parameter of this operation') },
    { name: 'a scalar query parameter sent twice', url: '/orders/42?limit=1&limit=2', captures: ['42'], expected: invalid('/query/limit', 'must appear once') },
    { name: 'a query that is not validly percent-encoded', url: '/orders/42?limit=%zz', captures: ['42'], expected: invalid('/query', 'is not validly percent-encoded') },
  ];
  for (const { name, url, captures, expected } of cases) {
    it(`${expected === null ? 'passes' : 'refuses'}: ${name}`, async () => {
      const { outcome } = await validate({ method: 'GET', url }, GET_ORDER, captures);
      assertOutcome(outcome, expected);
    });
  }

  it('checks the target the context carries (canonical, key parameter stripped)', async () => {
    const context = fakeContext({ method: 'GET', url: '/orders/42?api_key=x&limit=5' }, { operation: GET_ORDER, pathParameters: ['42'], upstreamPath: '/orders/42?limit=5' });
    assert.equal(await check.run(context), null);
  });
});

describe('input-validation check: header parameters, as they will be forwarded', () => {
  /** GET /reports with a required X-Tenant header of three lower-case letters. */
  const REPORTS = operation('GET', '/reports', validation({
    headers: [parameter('X-Tenant', { required: true })],
    validateParameters: ajv.compile({
      type: 'object',
      required: ['headers'],
      properties: { headers: { type: 'object', required: ['X-Tenant'], properties: { 'X-Tenant': { type: 'string', pattern: '^[a-z]{3}$' } } } },
    }),
  }));
  const cases: Array<{ name: string; raw: string[]; forwarded?: string[]; connectionNamed?: string[]; expected: Expected }> = [
    { name: 'the header as sent and forwarded', raw: ['X-Tenant', 'abc'], expected: null },
    { name: 'a value only the raw lines carry (the scan kept it from the upstream)', raw: ['X-Tenant', 'abc'], forwarded: [], expected: invalid('/headers/X-Tenant', 'must have required property \'X-Tenant\'') },
    { name: 'the forwarded value, not another raw line', raw: ['X-Tenant', 'abc', 'X-Tenant', 'ADMIN'], forwarded: ['X-Tenant', 'ADMIN'], expected: invalid('/headers/X-Tenant', 'must match pattern "^[a-z]{3}$"') },
    { name: 'Connection naming the declared header', raw: ['Connection', 'x-tenant', 'X-Tenant', 'abc'], forwarded: [], connectionNamed: ['x-tenant'], expected: invalid('/headers/X-Tenant', 'is named in Connection, so it would not be forwarded') },
    { name: 'Connection naming another header', raw: ['Connection', 'x-other', 'X-Tenant', 'abc'], forwarded: ['X-Tenant', 'abc'], connectionNamed: ['x-other'], expected: null },
  ];
  for (const { name, raw, forwarded, connectionNamed, expected } of cases) {
    it(`${expected === null ? 'passes' : 'refuses'}: ${name}`, async () => {
      const context = fakeContext({ method: 'GET', url: '/reports', headers: raw }, {
        operation: REPORTS,
        pathParameters: [],
        ...(forwarded !== undefined && { upstreamHeaders: forwarded }),
        ...(connectionNamed !== undefined && { connectionNamed: new Set(connectionNamed) }),
      });
      assertOutcome((await check.run(context)) as Denial | null, expected);
    });
  }
});

describe('input-validation check: X-Request-Id, which the gateway writes', () => {
  const TRACED = operation('GET', '/traced', validation({
    headers: [parameter('X-Request-Id')],
    validateParameters: ajv.compile({ type: 'object', properties: { headers: { type: 'object', properties: { 'X-Request-Id': { type: 'string', pattern: '^[0-9a-f-]{36}$' } } } } }),
  }));
  const cases: Array<{ name: string; sent: string; requestId: string; expected: Expected }> = [
    { name: 'the client\'s own id, forwarded as sent, is checked', sent: 'not-a-uuid', requestId: 'not-a-uuid', expected: invalid('/headers/X-Request-Id', 'must match pattern "^[0-9a-f-]{36}$"') },
    { name: 'a client id the gateway replaced is not what goes upstream', sent: 'has spaces', requestId: 'gw-1', expected: null },
    { name: 'a valid client id', sent: '3b241101-e2bb-4255-8caf-4136c566a962', requestId: '3b241101-e2bb-4255-8caf-4136c566a962', expected: null },
  ];
  for (const { name, sent, requestId, expected } of cases) {
    it(`${expected === null ? 'passes' : 'refuses'}: ${name}`, async () => {
      const context = fakeContext({ method: 'GET', url: '/traced' }, { operation: TRACED, pathParameters: [], requestIdHeader: sent, requestId, upstreamHeaders: [] });
      assertOutcome((await check.run(context)) as Denial | null, expected);
    });
  }
});

describe('input-validation policy', () => {
  it('is always on, with the configured limits', async () => {
    const configured = inputValidation.create({ ...ENFORCING, requests: { maxBodySize: 10, maxJsonBodySize: 5, maxJsonDepth: 2, maxBufferedBytes: 1000 } }, fakeParts());
    assert.deepEqual(inputValidation.config?.read({ requests: { maxBodySize: '1kb', maxJsonBodySize: 10, maxJsonDepth: 4, maxBufferedBytes: '64mb' } }, { cwd: '.', sourceOf: () => undefined }), { requests: { maxBodySize: 1024, maxJsonBodySize: 10, maxJsonDepth: 4, maxBufferedBytes: 64 * 1024 * 1024 } });
    assert.equal(inputValidation.stage, 9);
    assertOutcome((await configured?.run(fakeContext({ method: 'POST', headers: ['Content-Length', '11'] }))) as Denial | null, tooLarge(10));
    assertOutcome((await configured?.run(fakeContext({ method: 'POST', headers: ['Content-Type', 'application/json', 'Content-Length', '6'] }, { operation: CREATE_ORDER }))) as Denial | null, tooLarge(5));
  });
});

describe('input-validation check in report mode', () => {
  const reporting = createInputValidationCheck(LIMITS, true);

  async function report(request: FakeRequest, on: Operation | null, pathParameters: string[] | null = null) {
    const context = fakeContext(request, { operation: on, pathParameters });
    const outcome = (await reporting.run(context)) as Denial | null;
    return { outcome, context, reported: outcome !== null && reporting.reports?.(outcome, context) === true };
  }

  it('enforces nothing more, and reports nothing, for a valid request', async () => {
    const { outcome, context } = await report(json('{"item":"tea"}'), CREATE_ORDER);
    assert.equal(outcome, null);
    assert.equal(String(context.forwardBody), '{"item":"tea"}');
  });

  it('reports a body that fails its schema, forwarding it byte for byte', async () => {
    const sent = '{ "item" : 7,\n "count": 0 }';
    const { outcome, context, reported } = await report(json(sent), CREATE_ORDER);
    assert.equal(outcome?.code, 'request_invalid');
    assert.equal(reported, true);
    assert.ok(Buffer.isBuffer(context.forwardBody));
    assert.equal((context.forwardBody as Buffer).toString(), sent);
  });

  it('reports a body that is not acceptable JSON, forwarding it as read', async () => {
    const sent = '{"item":"a","item":"b"}';
    const { outcome, context, reported } = await report(json(sent), CREATE_ORDER);
    assert.equal(outcome?.code, 'request_invalid');
    assert.equal(reported, true);
    assert.equal((context.forwardBody as Buffer).toString(), sent);
  });

  it('reports a media type the operation does not accept, leaving the body to stream', async () => {
    const { outcome, context, reported } = await report(json('<order/>', 'application/xml'), CREATE_ORDER);
    assert.equal(outcome?.code, 'unsupported_media_type');
    assert.equal(reported, true);
    assert.equal(context.forwardBody, null);
  });

  it('reports the first failure (parameters), and still reads and forwards the body', async () => {
    const sent = '{"item":1}';
    const request = { ...json(sent), method: 'GET', url: '/orders/12?limit=500' };
    const { outcome, context, reported } = await report(request, GET_ORDER, ['12']);
    assert.equal(outcome?.code, 'request_invalid');
    assert.equal(outcome?.errors?.[0]?.pointer, '/query/limit');
    assert.equal(reported, true);
    // GET /orders/{orderId} declares no body: it streams as an unvalidated body would.
    assert.equal(context.forwardBody, null);
  });

  it('still refuses size limits and what the gateway and the upstream could read apart', async () => {
    const tooLargeBody = await report(json(`{"item":"${'x'.repeat(200)}"}`), CREATE_ORDER);
    assert.equal(tooLargeBody.outcome?.code, 'body_too_large');
    assert.equal(tooLargeBody.reported, false);
    const twoTypes = await report(json('{"item":"tea"}', 'application/json', ['Content-Type', 'text/plain']), CREATE_ORDER);
    assert.equal(twoTypes.outcome?.code, 'request_invalid');
    assert.equal(twoTypes.reported, false);
    const twoCharsets = await report(json('{"item":"tea"}', 'application/json; charset=utf-8; charset=latin1'), CREATE_ORDER);
    assert.equal(twoCharsets.outcome?.code, 'request_invalid');
    assert.equal(twoCharsets.reported, false);
    // An undeclared body over the limit: reported as undeclared only if it could stream.
    const undeclaredTooLarge = await report({ method: 'DELETE', url: '/orders/1', headers: ['Content-Length', '5000'], body: 'x'.repeat(5000) }, DELETE_ORDER, ['1']);
    assert.equal(undeclaredTooLarge.outcome?.code, 'body_too_large');
    assert.equal(undeclaredTooLarge.reported, false);
  });

  it('is made by the policy when reportOnly.policies names input-validation', () => {
    const reportOnly = { policies: new Set(['input-validation'] as const), header: false };
    assert.equal(typeof inputValidation.create({ reportOnly, requests: LIMITS }, fakeParts())?.reports, 'function');
    assert.equal(inputValidation.create({ ...ENFORCING, requests: LIMITS }, fakeParts())?.reports, undefined);
  });
});
