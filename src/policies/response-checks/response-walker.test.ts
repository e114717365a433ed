import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { compilePrepared } from '../../openapi/compile-openapi.ts';
import { prepareDescription } from '../../openapi/prepared-description.ts';
import { ANY_SHAPE, documentedResponse, JSON_TYPE_BITS, type OperationResponses, type ResponseShape } from '../../routes/operation-responses.ts';
import { walkResponse } from './response-walker.ts';

const directory = mkdtempSync(join(tmpdir(), 'portcullis-response-shapes-'));
after(() => rmSync(directory, { recursive: true, force: true }));

let fileCount = 0;
const OPTIONS = { basePath: '', refuseUnknownQuery: true, refMap: {}, strict: false, responses: true };

/** The documented responses of `GET /thing`, compiled from a description whose `responses` and `components.schemas` are these. */
async function responsesOf(responses: unknown, schemas: Record<string, unknown> = {}, version = '3.1.0'): Promise<OperationResponses> {
  const path = join(directory, `doc-${++fileCount}.yaml`);
  writeFileSync(path, stringify({ openapi: version, info: { title: 't', version: '1' }, paths: { '/thing': { get: { responses } } }, components: { schemas } }));
  const compiled = compilePrepared(await prepareDescription(path, OPTIONS), OPTIONS);
  const operation = compiled.operations[0];
  assert.ok(operation?.responses !== undefined, 'responses were compiled');
  return operation.responses;
}

/** The shape of the JSON body documented for 200. */
async function bodyShape(schema: unknown, schemas: Record<string, unknown> = {}, version = '3.1.0'): Promise<ResponseShape> {
  const responses = await responsesOf({ 200: { description: 'ok', content: { 'application/json': { schema } } } }, schemas, version);
  const shape = documentedResponse(responses, 200);
  assert.ok(shape !== null && shape !== undefined);
  return shape;
}

function sorted(paths: readonly string[]): string[] {
  return [...paths].sort();
}

describe('response shapes from a description', () => {
  it('joins $ref and allOf members, closed unless additionalProperties says otherwise, and walks arrays', async () => {
    const shape = await bodyShape({ $ref: '#/components/schemas/Order' }, {
      Base: { type: 'object', properties: { id: { type: 'string' } } },
      Line: { type: 'object', properties: { sku: { type: 'string' } } },
      Order: { allOf: [{ $ref: '#/components/schemas/Base' }, { properties: { lines: { type: 'array', items: { $ref: '#/components/schemas/Line' } } }, required: ['lines'] }] },
    });
    const walked = walkResponse({ id: 'o1', lines: [{ sku: 'a' }, { sku: 'b', cost: 1 }, { sku: 'c', cost: 2, margin: 3 }], owner: { email: 'x' } }, shape);
    assert.deepEqual(sorted(walked.undocumented), ['$.lines[*].cost', '$.lines[*].margin', '$.owner']);
    assert.deepEqual(walked.mismatched, []);
    assert.equal(walked.truncated, false);
    assert.deepEqual(walkResponse({ id: 'o1', lines: [] }, shape).undocumented, []);
  });

  it('documents any member where additionalProperties is true, walks a map\'s values against its schema, and leaves free-form objects alone', async () => {
    const shape = await bodyShape({
      type: 'object',
      properties: {
        open: { type: 'object', properties: { a: { type: 'string' } }, additionalProperties: true },
        counts: { type: 'object', additionalProperties: { type: 'object', properties: { n: { type: 'integer' } } } },
        anything: { type: 'object' },
        pattern: { type: 'object', properties: {}, patternProperties: { '^x-': { type: 'string' } } },
      },
    });
    const walked = walkResponse({
      open: { a: 'x', b: 'y' },
      counts: { first: { n: 1 }, second: { n: 'two', extra: true } },
      anything: { deep: { er: 1 } },
      pattern: { 'x-ok': 'yes', 'x-bad': 1, other: 'no' },
    }, shape);
    assert.deepEqual(sorted(walked.undocumented), ['$.counts.second.extra', '$.pattern.other']);
    assert.deepEqual(sorted(walked.mismatched), ['$.counts.second.n', '$.pattern["x-bad"]']);
  });

  it('joins the properties of anyOf and oneOf alternatives, and checks types only where every alternative has one', async () => {
    const shape = await bodyShape({
      type: 'object',
      properties: {
        pet: { oneOf: [{ type: 'object', properties: { bark: { type: 'boolean' } } }, { type: 'object', properties: { meow: { type: 'boolean' } } }] },
        id: { anyOf: [{ type: 'string' }, { type: 'integer' }] },
        loose: { anyOf: [{ type: 'string' }, {}] },
      },
    });
    const walked = walkResponse({ pet: { bark: true, meow: false, purr: 1 }, id: 1.5, loose: [1] }, shape);
    assert.deepEqual(walked.undocumented, ['$.pet.purr']);
    assert.deepEqual(walked.mismatched, ['$.id']);
    assert.deepEqual(walkResponse({ id: 7 }, shape).mismatched, []);
  });

  it('follows a recursive schema as a cycle, to any depth of the body', async () => {
    const shape = await bodyShape({ $ref: '#/components/schemas/Node' }, {
      Node: { type: 'object', properties: { name: { type: 'string' }, children: { type: 'array', items: { $ref: '#/components/schemas/Node' } } } },
    });
    const body = { name: 'root', children: [{ name: 'a', children: [{ name: 'b', secret: 1, children: [] }] }] };
    assert.deepEqual(walkResponse(body, shape).undocumented, ['$.children[*].children[*].secret']);
  });

  it('reads OpenAPI 3.0: nullable adds null, a $ref\'s siblings are ignored', async () => {
    const shape = await bodyShape({
      type: 'object',
      properties: {
        note: { type: 'string', nullable: true },
        ref: { $ref: '#/components/schemas/Small', properties: { ignored: { type: 'string' } } },
      },
    }, { Small: { type: 'object', properties: { a: { type: 'string' } } } }, '3.0.3');
    const walked = walkResponse({ note: null, ref: { a: 'x', ignored: 'y' } }, shape);
    assert.deepEqual(walked.undocumented, ['$.ref.ignored']);
    assert.deepEqual(walked.mismatched, []);
  });

  it('finds a status by its code, then its range, then default; null where no JSON body is documented', async () => {
    const responses = await responsesOf({
      200: { description: 'ok', content: { 'application/json': { schema: { type: 'object', properties: { a: { type: 'string' } } } } } },
      '4xx': { description: 'client', content: { 'application/problem+json': { schema: { type: 'object' } } } },
      204: { description: 'empty' },
    });
    assert.ok(documentedResponse(responses, 200) !== null && documentedResponse(responses, 200) !== undefined);
    assert.ok(documentedResponse(responses, 404) !== undefined && documentedResponse(responses, 404) !== null, 'the range, written 4xx');
    assert.equal(documentedResponse(responses, 204), null);
    assert.equal(documentedResponse(responses, 500), undefined);
    assert.equal(documentedResponse(responses, 201), undefined);
    const withDefault = await responsesOf({ 200: { description: 'ok' }, default: { description: 'error', content: { 'application/json': {} } } });
    assert.equal(documentedResponse(withDefault, 503), ANY_SHAPE, 'default, with a JSON body without a schema: anything');
  });

  it('compiles no responses unless asked to', async () => {
    const path = join(directory, `doc-${++fileCount}.yaml`);
    writeFileSync(path, stringify({ openapi: '3.1.0', info: { title: 't', version: '1' }, paths: { '/thing': { get: { responses: { 200: { description: 'ok' } } } } } }));
    const options = { ...OPTIONS, responses: false };
    const compiled = compilePrepared(await prepareDescription(path, options), options);
    assert.equal(compiled.operations[0]?.responses, undefined);
  });
});

describe('walkResponse', () => {
  const leaf = (types: number): ResponseShape => ({ types, properties: new Map(), patterns: [], additional: 'open', items: null });
  const closed = (properties: Record<string, ResponseShape>, types: number = JSON_TYPE_BITS.object): ResponseShape => ({ types, properties: new Map(Object.entries(properties)), patterns: [], additional: 'closed', items: null });

  it('tells integers from numbers, and reports a root of the wrong type at $', () => {
    const shape = closed({ count: leaf(JSON_TYPE_BITS.integer), ratio: leaf(JSON_TYPE_BITS.number) });
    assert.deepEqual(walkResponse({ count: 2, ratio: 2 }, shape).mismatched, []);
    assert.deepEqual(walkResponse({ count: 2.5, ratio: 0.5 }, shape).mismatched, ['$.count']);
    assert.deepEqual(walkResponse([1, 2], shape).mismatched, ['$']);
    assert.deepEqual(walkResponse('text', shape).mismatched, ['$']);
  });

  it('writes names that are not identifiers quoted, and cuts long ones', () => {
    const walked = walkResponse({ 'a.b': 1, 'line\nbreak': 2, ['x'.repeat(100)]: 3, ok_name$: 4 }, closed({}), { maxNodes: 100, maxPaths: 10, maxNameLength: 8 });
    assert.deepEqual(sorted(walked.undocumented), ['$.ok_name$', '$["a.b"]', '$["line\\nbr…"]', '$["xxxxxxx…"]'].sort());
  });

  it('keeps at most maxPaths paths and visits at most maxNodes values, saying so', () => {
    const many = Object.fromEntries(Array.from({ length: 50 }, (_, index) => [`f${index}`, index]));
    const cut = walkResponse(many, closed({}), { maxNodes: 1000, maxPaths: 5, maxNameLength: 64 });
    assert.equal(cut.undocumented.length, 5);
    assert.equal(cut.truncated, true);
    const list = { types: JSON_TYPE_BITS.array, properties: new Map(), patterns: [], additional: 'open', items: closed({}) } satisfies ResponseShape;
    const stopped = walkResponse(Array.from({ length: 100 }, () => ({ extra: 1 })), list, { maxNodes: 10, maxPaths: 5, maxNameLength: 64 });
    assert.equal(stopped.truncated, true);
    assert.deepEqual(stopped.undocumented, ['$[*].extra']);
  });

  it('walks a body nested far deeper than the stack would allow recursion to', () => {
    const node: { types: number; properties: Map<string, ResponseShape>; patterns: []; additional: 'closed'; items: null } = { types: JSON_TYPE_BITS.object, properties: new Map(), patterns: [], additional: 'closed', items: null };
    node.properties.set('next', node);
    let body: Record<string, unknown> = { leak: true };
    for (let depth = 0; depth < 50_000; depth++) body = { next: body };
    const walked = walkResponse(body, node, { maxNodes: 200_000, maxPaths: 5, maxNameLength: 64 });
    assert.equal(walked.undocumented.length, 1);
    const path = walked.undocumented[0] as string;
    assert.ok(path.startsWith('$.next.next') && path.endsWith('.next.leak') && path.includes('…') && path.length < 320, path.slice(0, 80));
  });

  it('never walks what is documented as anything', () => {
    assert.deepEqual(walkResponse({ a: { b: [1, { c: 2 }] } }, ANY_SHAPE), { undocumented: [], mismatched: [], truncated: false });
  });
});
