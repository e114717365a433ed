import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { compileOpenApi, compilePrepared, type CompiledOpenApi } from './compile-openapi.ts';
import { OpenApiError } from './document-set.ts';
import { prepareDescription } from './prepared-description.ts';
import { loadRoutes } from '../app/routes.ts';
import { loadConfig } from '../app/config.ts';
import { ConfigError } from '../config/config-error.ts';
import type { PathRoutes } from '../routes/route-table.ts';

const directory = mkdtempSync(join(tmpdir(), 'portcullis-openapi-'));
after(() => rmSync(directory, { recursive: true, force: true }));

let fileCount = 0;
function write(document: unknown, name = `doc-${++fileCount}.yaml`): string {
  const path = join(directory, name);
  writeFileSync(path, typeof document === 'string' ? document : stringify(document));
  return path;
}

const OPTIONS = { basePath: '', refuseUnknownQuery: true, refMap: {}, strict: false };

/** Compiled in this process (compileOpenApi does the first half in a child process; tested below). */
async function compile(document: unknown): Promise<CompiledOpenApi> {
  return compilePrepared(await prepareDescription(write(document), OPTIONS), OPTIONS);
}

async function failsAt(document: unknown, where: RegExp, message: RegExp): Promise<void> {
  await assert.rejects(compile(document), (error: unknown) => {
    assert.ok(error instanceof OpenApiError, String(error));
    assert.match(error.where, where);
    assert.match(error.message, message);
    return true;
  });
}

const op = (extra: Record<string, unknown> = {}) => ({ responses: { 200: { description: 'ok' } }, ...extra });

describe('compileOpenApi', () => {
  it('compiles the realistic fixture (3.1, two files) into operations with scopes and limits', () => {
    const compiled = compileOpenApi(resolve(import.meta.dirname, '..', '..', 'test', 'fixtures', 'openapi', 'orders-api.yaml'), { ...OPTIONS, basePath: '/v1' });
    assert.equal(compiled.version, '3.1');
    const byId = new Map(compiled.operations.map((operation) => [`${operation.method} ${operation.template}`, operation]));
    assert.deepEqual(byId.get('POST /v1/orders')?.scopes, [['orders:write']]);
    assert.deepEqual(byId.get('DELETE /v1/orders/{orderId}')?.scopes, [['orders:write', 'admin']]);
    assert.equal(byId.get('GET /v1/health')?.scopes, null);
    assert.equal(byId.get('PUT /v1/orders/{orderId}/attachments')?.maxBodySize, 1024);
    assert.deepEqual(compiled.unchecked, []);
    const root = compileOpenApi(write({ openapi: '3.1.0', paths: { '/': { get: op() } } }), { ...OPTIONS, basePath: '/v1' });
    assert.equal(root.operations[0]?.template, '/v1');
  });

  it('validates OpenAPI 3.0 schemas with their 3.0 meaning (nullable, boolean exclusiveMinimum, readOnly)', async () => {
    const compiled = await compile({
      openapi: '3.0.3',
      info: { title: 't', version: '1' },
      paths: {
        '/items': {
          post: op({
            requestBody: {
              required: true,
              content: {
                'application/json': {
                  schema: {
                    type: 'object',
                    required: ['id', 'price'],
                    properties: { id: { type: 'string', readOnly: true }, price: { type: 'number', minimum: 0, exclusiveMinimum: true }, note: { type: 'string', nullable: true } },
                  },
                },
              },
            },
          }),
        },
      },
    });
    const validate = compiled.operations[0]!.validation!.body!.mediaTypes[0]!.validate!;
    assert.ok(validate({ price: 1, note: null }), JSON.stringify(validate.errors));
    assert.ok(!validate({ price: 0 }), 'exclusiveMinimum: true excludes the minimum');
    assert.ok(!validate({ price: 1, note: 5 }));
  });

  it('reads JSON-valued (content) parameters, and lists the serialisations it cannot check', async () => {
    const compiled = await compile({
      openapi: '3.1.0',
      paths: {
        '/search': {
          get: op({
            parameters: [
              { name: 'filter', in: 'query', content: { 'application/json': { schema: { type: 'object', required: ['status'], properties: { status: { enum: ['open'] } } } } } },
              { name: 'range', in: 'query', style: 'deepObject', schema: { type: 'object' } },
              { name: 'session', in: 'cookie', schema: { type: 'string' } },
            ],
          }),
        },
      },
    });
    const validation = compiled.operations[0]!.validation!;
    assert.deepEqual(validation.query.map((parameter) => [parameter.name, parameter.valueType]), [['filter', 'json'], ['range', 'unchecked']]);
    assert.equal(compiled.unchecked.length, 1);
    assert.match(compiled.unchecked[0]!, /query parameter "range", style deepObject, an object/);
    const validate = validation.validateParameters!;
    assert.ok(validate({ query: { filter: { status: 'open' } } }));
    assert.ok(!validate({ query: { filter: { status: 'closed' } } }));
  });

  it('fails with the JSON pointer of a $ref that points to nothing', async () => {
    await failsAt(
      { openapi: '3.1.0', info: { title: 't', version: '1' }, paths: { '/a': { post: op({ requestBody: { content: { 'application/json': { schema: { $ref: '#/components/schemas/Missing' } } } } }) } } },
      /#\/paths\/~1a\/post\/requestBody\/content\/application~1json\/schema\/\$ref$/,
      /points to nothing/,
    );
  });

  it('fails with the JSON pointer of an invalid schema keyword', async () => {
    await failsAt(
      { openapi: '3.1.0', info: { title: 't', version: '1' }, paths: { '/a': { get: op({ parameters: [{ name: 'q', in: 'query', schema: { type: 'strnig' } }] }) } } },
      /#\/paths\/~1a\/get\/parameters\/0\/schema\/type$/,
      /invalid schema/,
    );
    await failsAt(
      { openapi: '3.0.3', info: { title: 't', version: '1' }, components: { schemas: { Bad: { type: 'object', properties: { x: { minimum: 'low' } } } } }, paths: { '/a': { post: op({ requestBody: { content: { 'application/json': { schema: { $ref: '#/components/schemas/Bad' } } } } }) } } },
      /#\/components\/schemas\/Bad\/properties\/x\/minimum$/,
      /invalid schema/,
    );
  });

  it('follows $refs into other files, and reports problems there with that file\'s name', async () => {
    write({ Thing: { type: 'object', properties: { size: { $ref: '#/Nope' } } } }, 'things.yaml');
    await failsAt(
      { openapi: '3.1.0', info: { title: 't', version: '1' }, paths: { '/a': { post: op({ requestBody: { content: { 'application/json': { schema: { $ref: './things.yaml#/Thing' } } } } }) } } },
      /^things\.yaml#\/Thing\/properties\/size\/\$ref$/,
      /points to nothing/,
    );
  });

  it('refuses remote $refs, unknown versions, and undeclared path parameters', async () => {
    await failsAt({ openapi: '3.1.0', info: {}, paths: { '/a': { post: op({ requestBody: { content: { 'application/json': { schema: { $ref: 'https://example.com/s.json' } } } } }) } } }, /\$ref$/, /outside the local files/);
    await failsAt({ swagger: '1.2', paths: {} }, /#\/swagger$/, /expected Swagger 2.0 .* or OpenAPI 3\.0\.x or 3\.1\.x/);
    await failsAt({ openapi: '4.0.0', paths: {} }, /#\/openapi$/, /expected OpenAPI 3.0.x or 3.1.x/);
    await failsAt({ openapi: '3.1.0', paths: { '/a/{id}': { get: op() } } }, /#\/paths\/~1a~1\{id\}\/get$/, /\{id\} .* is not declared/);
    await failsAt({ openapi: '3.1.0', paths: { '/a': { get: op({ parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }] }) } } }, /get$/, /does not appear/);
    await failsAt({ openapi: '3.1.0', paths: { '/a': { get: op({ 'x-portcullis-scopes': ['ok', 'not ok'] }) } } }, /x-portcullis-scopes$/, /list of scopes/);
    await failsAt({ openapi: '3.1.0', paths: { '/a': { get: op({ security: [{ oauth: ['has space'] }] }) } } }, /security\/0\/oauth$/, /cannot be a scope/);
  });

  it('names the file when it cannot be read or parsed', () => {
    assert.throws(() => compileOpenApi(join(directory, 'absent.yaml'), OPTIONS), /cannot read .*absent\.yaml \(ENOENT\)/);
    assert.throws(() => compileOpenApi(write('openapi: 3.1.0\npaths:\n  /a: {get: {}}\n  /a: {}\n'), OPTIONS), /not valid YAML/);
  });

  it('compiles a document of 1,000 operations at start (time printed, not asserted)', () => {
    const paths: Record<string, unknown> = {};
    for (let index = 0; index < 500; index++) {
      paths[`/resources${index}/{id}`] = {
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'integer', minimum: 1 } }],
        get: op({ security: [{ oauth: [`r${index}:read`] }], parameters: [{ name: 'limit', in: 'query', schema: { type: 'integer', maximum: 100 + index } }, { name: 'state', in: 'query', schema: { $ref: '#/components/schemas/State' } }] }),
        put: op({
          security: [{ oauth: [`r${index}:write`] }],
          requestBody: { required: true, content: { 'application/json': { schema: { type: 'object', required: ['name'], additionalProperties: false, properties: { name: { type: 'string', maxLength: 50 + index }, state: { $ref: '#/components/schemas/State' }, owner: { $ref: '#/components/schemas/Owner' } } } } } },
        }),
      };
    }
    const document = { openapi: '3.1.0', info: { title: 'large', version: '1' }, components: { schemas: { State: { type: 'string', enum: ['a', 'b', 'c'] }, Owner: { type: 'object', required: ['email'], properties: { email: { type: 'string', format: 'email' } } } } }, paths };
    const path = write(JSON.stringify(document), 'large.json');
    const started = performance.now();
    const compiled = compileOpenApi(path, OPTIONS);
    const elapsed = performance.now() - started;
    assert.equal(compiled.operations.length, 1000);
    process.stdout.write(`# compiled 1,000 operations in ${elapsed.toFixed(0)} ms\n`);
    const put = compiled.operations.find((operation) => operation.method === 'PUT' && operation.template === '/resources7/{id}')!;
    const validate = put.validation!.body!.mediaTypes[0]!.validate!;
    assert.ok(validate({ name: 'x', state: 'a', owner: { email: 'a@b.co' } }));
    assert.ok(!validate({ name: 'x', state: 'z' }));
  });
});

describe('loadRoutes', () => {
  function configWith(yaml: string) {
    const file = write(yaml, `config-${++fileCount}.yaml`);
    return loadConfig({ configFile: file, env: {}, cwd: directory });
  }

  it('is null without a document or rules: every route is allowed', () => {
    assert.equal(loadRoutes(configWith('{}\n')), null);
  });

  it('merges a rule into the document\'s operation (adding scopes and a limit) and adds the others as routes', () => {
    const documentPath = write({ openapi: '3.1.0', paths: { '/orders': { get: op({ security: [{ oauth: ['orders:read'] }] }) } } });
    const routes = loadRoutes(configWith(`openapi: {file: ${documentPath}}\nroutes:\n  - {method: GET, path: /orders, scopes: [audit], maxBodySize: 2kb}\n  - {method: POST, path: '/jobs/{id}', scopes: [jobs]}\n`));
    assert.ok(routes !== null);
    const get = (routes.table.match('/orders', []) as PathRoutes | null)?.operations.get('GET');
    assert.deepEqual(get?.scopes, [['orders:read', 'audit']]);
    assert.equal(get?.maxBodySize, 2048);
    assert.ok(get?.validation !== null, 'the merged operation keeps its validation');
    const post = (routes.table.match('/jobs/1', []) as PathRoutes | null)?.operations.get('POST');
    assert.deepEqual(post?.scopes, [['jobs']]);
    assert.equal(post?.validation, null);
    // Paths are case-sensitive: a rule on /ORDERS is not the document's /orders, and a start-up error beside it.
    assert.throws(() => loadRoutes(configWith(`openapi: {file: ${documentPath}}\nroutes:\n  - {method: GET, path: /ORDERS, scopes: [audit]}\n`)), (error: unknown) => error instanceof ConfigError && /routes\[0\]: GET \/ORDERS differs only in case from .*GET \/orders/.test(error.message));
  });

  it('turns problems into a ConfigError that names the field and the location', () => {
    const broken = write({ openapi: '3.1.0', paths: { '/a': { get: op({ parameters: [{ name: 'q', in: 'query', schema: { type: 'strnig' } }] }) } } });
    assert.throws(() => loadRoutes(configWith(`openapi: {file: ${broken}}\n`)), (error: unknown) => error instanceof ConfigError && /^openapi\.file: doc-\d+\.yaml#\/paths\/~1a\/get\/parameters\/0\/schema\/type: invalid schema/.test(error.problems[0]!));
    assert.throws(() => loadRoutes(configWith('routes:\n  - {method: GET, path: /a}\n  - {method: GET, path: /a}\n')), (error: unknown) => error instanceof ConfigError && /routes\[1\].*same route as routes\[0\]/.test(error.message));
    assert.throws(() => loadRoutes(configWith('routes:\n  - {method: GET, path: /a}\n  - {method: POST, path: /A}\n')), (error: unknown) => error instanceof ConfigError && /routes\[1\].*differs only in case from routes\[0\]/.test(error.message));
    const trailing = write({ openapi: '3.1.0', paths: { '/a/': { get: op() } } });
    assert.throws(() => loadRoutes(configWith(`openapi: {file: ${trailing}}\n`)), (error: unknown) => error instanceof ConfigError && /empty, "\." or "\.\." segment/.test(error.message));
  });

  it('rejects malformed rules when the configuration loads, naming the field', () => {
    assert.throws(() => configWith('routes:\n  - {method: GET, path: /a//b}\n'), (error: unknown) => error instanceof ConfigError && /routes\.0\.path.*path template/.test(error.message));
    assert.throws(() => configWith('routes:\n  - {method: BREW, path: /a}\n'), (error: unknown) => error instanceof ConfigError && /routes\.0\.method.*expected one of/.test(error.message));
    assert.throws(() => configWith('routes:\n  - {method: GET, path: /a, scopes: ["a b"]}\n'), (error: unknown) => error instanceof ConfigError && /routes\.0\.scopes\.0.*scope/.test(error.message));
    assert.throws(() => configWith('cors: {allowedOrigins: ["https://app.example.com/path"]}\n'), (error: unknown) => error instanceof ConfigError && /cors\.allowedOrigins\.0.*origin/.test(error.message));
    assert.throws(() => configWith('openapi: {refMap: {"ftp://schemas.example.com/": ./vendor}}\n'), (error: unknown) => error instanceof ConfigError && /openapi\.refMap/.test(error.message) && /http\(s\) URL/.test(error.message), 'a refMap key must be an http(s) URL');
    const mapped = configWith('openapi: {refMap: {"https://schemas.example.com/v1/": ./vendor/v1}}\n');
    assert.deepEqual(mapped.openapi.refMap, { 'https://schemas.example.com/v1/': join(directory, 'vendor', 'v1') }, 'local paths are relative to the working directory');
  });
});
