import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { stringify } from 'yaml';
import type { ValidateFunction } from 'ajv';
import type { Operation } from '../routes/operation.ts';
import { compilePrepared, type CompiledOpenApi, type OpenApiOptions } from './compile-openapi.ts';
import { OpenApiError } from './document-set.ts';
import { prepareDescription } from './prepared-description.ts';

/**
 * Loading descriptions as they are published: split over files that reference each other
 * relative to themselves, remote references mapped to local copies, `$ref` siblings as each
 * OpenAPI version defines them, ECMA-262 patterns, Swagger 2.0. In this process (the child
 * process that compileOpenApi uses is tested in compile-openapi.test.ts).
 */

const WORKSHOP = resolve(import.meta.dirname, '..', '..', 'test', 'fixtures', 'openapi', 'workshop');
const OPTIONS: OpenApiOptions = { basePath: '', refuseUnknownQuery: true, refMap: {}, strict: false };
const WORKSHOP_OPTIONS: OpenApiOptions = { ...OPTIONS, refMap: { 'https://schemas.example.com/common/v1/': join(WORKSHOP, 'vendored', 'common-v1') } };

const directory = mkdtempSync(join(tmpdir(), 'portcullis-loader-'));
after(() => rmSync(directory, { recursive: true, force: true }));

function write(name: string, document: unknown): string {
  const path = join(directory, name);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, typeof document === 'string' ? document : name.endsWith('.json') ? JSON.stringify(document) : stringify(document));
  return path;
}

async function compile(path: string, options: OpenApiOptions = OPTIONS): Promise<CompiledOpenApi> {
  return compilePrepared(await prepareDescription(path, options), options);
}

function operation(compiled: CompiledOpenApi, method: string, template: string): Operation {
  const found = compiled.operations.find((candidate) => candidate.method === method && candidate.template === template);
  assert.ok(found, `${method} ${template} among ${compiled.operations.map((candidate) => `${candidate.method} ${candidate.template}`).join(', ')}`);
  return found;
}

function bodyValidator(found: Operation): ValidateFunction {
  return found.validation!.body!.mediaTypes[0]!.validate!;
}

const ok = { responses: { 200: { description: 'ok' } } };

describe('a description split over files', () => {
  it('loads, each reference resolved against the file that holds it (YAML and JSON, escaped pointers)', async () => {
    const compiled = await compile(join(WORKSHOP, 'openapi.yaml'), WORKSHOP_OPTIONS);
    assert.deepEqual(compiled.operations.map((found) => `${found.method} ${found.template}`).sort(), ['GET /v0/widgets/{widgetId}', 'GET /widgets', 'GET /widgets/{widgetId}', 'POST /widgets']);
    for (const template of ['/widgets/{widgetId}', '/v0/widgets/{widgetId}']) {
      const get = operation(compiled, 'GET', template);
      // widgetId from parameters/ids.json, its schema from schemas/common.yaml; fields through `~1` and `~0`.
      assert.deepEqual(get.validation!.path.map((spec) => spec.name), ['widgetId']);
      const validate = get.validation!.validateParameters!;
      assert.ok(validate({ path: { widgetId: 'w-001' }, query: { fields: 'parts' } }), JSON.stringify(validate.errors));
      assert.ok(!validate({ path: { widgetId: 'x-001' } }));
      assert.ok(!validate({ path: { widgetId: 'w-001' }, query: { fields: 'colour' } }));
    }
    const list = operation(compiled, 'GET', '/widgets').validation!.validateParameters!;
    assert.ok(list({ query: { limit: 50 } }));
    assert.ok(!list({ query: { limit: 51 } }));
  });

  it('validates a recursive schema across files, ignores 3.0 $ref siblings, and reads remote schemas from their local copies', async () => {
    const compiled = await compile(join(WORKSHOP, 'openapi.yaml'), WORKSHOP_OPTIONS);
    const validate = bodyValidator(operation(compiled, 'POST', '/widgets'));
    const widget = { name: 'w', tag: 'eightch8', sku: 'ABC-1234', vendor: { name: 'Acme', country: 'GB' }, parts: [{ code: 'w-001', parts: [{ code: 'w-002', parts: [{ code: 'w-003' }] }] }] };
    assert.ok(validate(widget), JSON.stringify(validate.errors));
    assert.ok(!validate({ ...widget, tag: 'ninechars' }), 'maxLength 8 from common.yaml#/Tag');
    assert.ok(!validate({ ...widget, parts: [{ code: 'w-001', parts: [{ code: 'bad' }] }] }), 'the recursion checks every level');
    assert.ok(!validate({ ...widget, vendor: { name: 'Acme', country: 'XX' } }), 'country.yaml, relative to the remote vendor.yaml');
    assert.ok(!validate({ ...widget, extra: true }));
  });

  it('compiles a pattern valid only without the Unicode flag without it, and says so once', async () => {
    const compiled = await compile(join(WORKSHOP, 'openapi.yaml'), WORKSHOP_OPTIONS);
    const validate = bodyValidator(operation(compiled, 'POST', '/widgets'));
    assert.ok(validate({ name: 'w', sku: 'ABC-1234' }));
    assert.ok(!validate({ name: 'w', sku: 'abc-1234' }));
    const warnings = compiled.warnings.filter((warning) => warning.includes('Unicode flag'));
    assert.equal(warnings.length, 1, compiled.warnings.join('\n'));
    assert.match(warnings[0]!, /schemas\/common\.yaml#\/Sku\/pattern/);
  });

  it('refuses a remote $ref that openapi.refMap does not map, naming where it is', async () => {
    await assert.rejects(compile(join(WORKSHOP, 'openapi.yaml')), (error: unknown) => {
      assert.ok(error instanceof OpenApiError, String(error));
      assert.equal(error.where, 'schemas/widget.yaml#/properties/vendor/$ref');
      assert.match(error.message, /https:\/\/schemas\.example\.com\/common\/v1\/vendor\.yaml is outside the local files.*openapi\.refMap/);
      return true;
    });
    // A folder mapping never reaches outside its folder.
    const climbing = write('climb/openapi.yaml', { openapi: '3.0.3', info: { title: 't', version: '1' }, paths: { '/a': { post: { ...ok, requestBody: { content: { 'application/json': { schema: { $ref: 'https://schemas.example.com/x/%2E%2E/secret.yaml' } } } } } } } });
    await assert.rejects(compile(climbing, { ...OPTIONS, refMap: { 'https://schemas.example.com/x/': join(directory, 'climb') } }), /outside the local files/);
  });

  it('applies $ref siblings in OpenAPI 3.1 schemas, as JSON Schema does', async () => {
    const path = write('siblings31.yaml', {
      openapi: '3.1.0',
      info: { title: 't', version: '1' },
      components: { schemas: { Tag: { type: 'string', maxLength: 8 }, Short: { $ref: '#/components/schemas/Tag', maxLength: 2 } } },
      paths: { '/a': { post: { ...ok, requestBody: { content: { 'application/json': { schema: { type: 'object', properties: { tag: { $ref: '#/components/schemas/Tag', minLength: 2 }, short: { $ref: '#/components/schemas/Short' } } } } } } } } },
    });
    const validate = bodyValidator(operation(await compile(path), 'POST', '/a'));
    assert.ok(validate({ tag: 'ab', short: 'ab' }), JSON.stringify(validate.errors));
    assert.ok(!validate({ tag: 'a' }), 'minLength beside the $ref applies');
    assert.ok(!validate({ tag: 'abcdefghi' }), 'and so does the target');
    assert.ok(!validate({ short: 'abc' }), 'a component that is a $ref with siblings keeps them');
  });

  it('reads a $ref in place of a whole properties map, as bundlers accept', async () => {
    write('map/attributes.yaml', { ids: { droplet_ids: { type: 'array', items: { type: 'integer' } } } });
    const path = write('map/openapi.yaml', { openapi: '3.0.3', info: { title: 't', version: '1' }, paths: { '/a': { post: { ...ok, requestBody: { content: { 'application/json': { schema: { required: ['droplet_ids'], properties: { $ref: 'attributes.yaml#/ids' } } } } } } } } });
    const validate = bodyValidator(operation(await compile(path), 'POST', '/a'));
    assert.ok(validate({ droplet_ids: [1, 2] }));
    assert.ok(!validate({ droplet_ids: ['one'] }));
  });

  it('reports formats and keywords it cannot check once each, and refuses them with openapi.strict', async () => {
    const path = write('formats.yaml', {
      openapi: '3.0.3',
      info: { title: 't', version: '1' },
      paths: { '/a': { get: { ...ok, parameters: [{ name: 'ip', in: 'query', schema: { type: 'string', format: 'cidr' } }, { name: 'n', in: 'query', schema: { type: 'integer', format: 'cidr', optional: true } }] } } },
    });
    const compiled = await compile(path);
    assert.deepEqual(compiled.warnings.map((warning) => warning.replace(/ \(.*\)/, '')), ['format "cidr" has no check: ignored', 'keyword "optional" is not JSON Schema\'s or OpenAPI\'s: ignored']);
    assert.match(compiled.warnings[0]!, /formats\.yaml#\/paths\/~1a\/get\/parameters\/0\/schema\/format and 1 more/);
    await assert.rejects(compile(path, { ...OPTIONS, strict: true }), (error: unknown) => error instanceof OpenApiError && /parameters\/0\/schema\/format$/.test(error.where) && /openapi\.strict/.test(error.message));
  });

  it('refuses a pattern that is valid in neither ECMA-262 grammar, naming it', async () => {
    const path = write('bad-pattern.yaml', { openapi: '3.0.3', info: { title: 't', version: '1' }, paths: { '/a': { get: { ...ok, parameters: [{ name: 'q', in: 'query', schema: { type: 'string', pattern: '([a-z]' } }] } } } });
    await assert.rejects(compile(path), (error: unknown) => error instanceof OpenApiError && /parameters\/0\/schema\/pattern$/.test(error.where) && /not a valid ECMA-262 regular expression/.test(error.message));
  });

  it('converts Swagger 2.0 at load, files and all, and validates with the converted description', async () => {
    write('swagger/definitions.yaml', { Pet: { type: 'object', required: ['name'], properties: { name: { type: 'string' }, tag: { type: 'string', 'x-nullable': true } } } });
    const path = write('swagger/swagger.yaml', {
      swagger: '2.0',
      info: { title: 'pets', version: '1' },
      basePath: '/v1',
      consumes: ['application/json'],
      paths: {
        '/pets': {
          get: { parameters: [{ name: 'tags', in: 'query', type: 'array', items: { type: 'string' }, collectionFormat: 'csv' }, { name: 'limit', in: 'query', type: 'integer', maximum: 10 }], responses: { 200: { description: 'ok' } } },
          post: { parameters: [{ name: 'pet', in: 'body', required: true, schema: { $ref: 'definitions.yaml#/Pet' } }], responses: { 201: { description: 'created' } } },
        },
      },
    });
    const compiled = await compile(path);
    assert.equal(compiled.convertedFrom, '2.0');
    const list = operation(compiled, 'GET', '/pets').validation!;
    assert.deepEqual(list.query.map((spec) => [spec.name, spec.delimiter]), [['tags', ','], ['limit', null]]);
    assert.ok(!list.validateParameters!({ query: { limit: 11 } }));
    const validate = bodyValidator(operation(compiled, 'POST', '/pets'));
    assert.ok(validate({ name: 'Rex', tag: null }), JSON.stringify(validate.errors));
    assert.ok(!validate({ tag: 'dog' }));
  });
});
