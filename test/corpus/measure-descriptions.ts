/**
 * Start time and resident memory of compiling OpenAPI descriptions, each in a fresh process,
 * for docs/benchmarks.md:
 *
 *   node --expose-gc test/corpus/measure-descriptions.ts                  the real-world corpus
 *   node --expose-gc test/corpus/measure-descriptions.ts FILE…            other descriptions
 *   node --expose-gc test/corpus/measure-descriptions.ts --synthetic 10000
 *       a generated description of that many operations (shared components, path, query and
 *       body schemas), written to a temporary file first
 *
 * Per description: `load` is compileOpenApi's time (what start-up waits for); `RSS` the growth
 * of the process's resident memory after it, and after every validator has compiled (as once
 * every operation has been called), against the same process before (garbage collected), and
 * the growth of the JavaScript heap in use then (what stays; RSS also counts heap pages V8
 * keeps after the garbage of code generation).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CORPUS } from './corpus.ts';

interface Figures {
  operations: number;
  loadMs: number;
  rssAfterLoadMb: number;
  compileAllMs: number;
  rssAfterAllMb: number;
  heapAfterAllMb: number;
}

function synthetic(operations: number): object {
  const paths: Record<string, unknown> = {};
  const ok = { responses: { 200: { description: 'ok' } } };
  for (let index = 0; index < operations / 2; index++) {
    paths[`/resources${index}/{id}`] = {
      parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'integer', minimum: 1 } }],
      get: { ...ok, parameters: [{ name: 'limit', in: 'query', schema: { type: 'integer', maximum: 100 + index } }, { name: 'state', in: 'query', schema: { $ref: '#/components/schemas/State' } }] },
      put: {
        ...ok,
        requestBody: { required: true, content: { 'application/json': { schema: { type: 'object', required: ['name'], additionalProperties: false, properties: { name: { type: 'string', maxLength: 50 + (index % 50) }, state: { $ref: '#/components/schemas/State' }, owner: { $ref: '#/components/schemas/Owner' }, address: { $ref: `#/components/schemas/Address${index % 100}` } } } } } },
      },
    };
  }
  const schemas: Record<string, unknown> = { State: { type: 'string', enum: ['a', 'b', 'c'] }, Owner: { type: 'object', required: ['email'], properties: { email: { type: 'string', format: 'email' }, address: { $ref: '#/components/schemas/Address0' } } } };
  for (let index = 0; index < 100; index++) schemas[`Address${index}`] = { type: 'object', required: ['street', 'country'], properties: { street: { type: 'string', maxLength: 200 }, city: { type: 'string' }, country: { type: 'string', pattern: '^[A-Z]{2}$' }, lines: { type: 'array', items: { type: 'string' }, maxItems: 4 } } };
  return { openapi: '3.1.0', info: { title: `synthetic ${operations}`, version: '1' }, components: { schemas }, paths };
}

const MEASURE = `
import { compileOpenApi } from ${JSON.stringify(new URL('../../src/openapi/compile-openapi.ts', import.meta.url).href)};
const gc = globalThis.gc;
gc(); gc();
const before = process.memoryUsage().rss;
const heapBefore = process.memoryUsage().heapUsed;
const started = performance.now();
const compiled = compileOpenApi(process.argv[1], { basePath: '', refuseUnknownQuery: true, refMap: {}, strict: false });
const loadMs = performance.now() - started;
gc(); gc();
const afterLoad = process.memoryUsage().rss;
const compiling = performance.now();
for (const operation of compiled.operations) {
  operation.validation?.validateParameters?.({});
  for (const media of operation.validation?.body?.mediaTypes ?? []) media.validate?.({});
}
const compileAllMs = performance.now() - compiling;
gc(); gc();
const mb = (bytes) => Math.round(bytes / 1048576 * 10) / 10;
process.stdout.write(JSON.stringify({ operations: compiled.operations.length, loadMs: Math.round(loadMs), rssAfterLoadMb: mb(afterLoad - before), compileAllMs: Math.round(compileAllMs), rssAfterAllMb: mb(process.memoryUsage().rss - before), heapAfterAllMb: mb(process.memoryUsage().heapUsed - heapBefore) }));
`;

function measure(file: string): Figures {
  return JSON.parse(execFileSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', MEASURE, file], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 })) as Figures;
}

const { positionals, values } = parseArgs({ allowPositionals: true, options: { synthetic: { type: 'string' } } });
const directory = mkdtempSync(join(tmpdir(), 'portcullis-measure-'));
try {
  const targets: Array<[string, string]> = positionals.length > 0 ? positionals.map((file) => [file, file]) : CORPUS.map((entry) => [entry.name, entry.file]);
  if (values.synthetic !== undefined) {
    const file = join(directory, 'synthetic.json');
    writeFileSync(file, JSON.stringify(synthetic(Number(values.synthetic))));
    targets.splice(0, targets.length, [`synthetic, ${values.synthetic} operations`, file]);
  }
  process.stdout.write('| description | operations | start: load (ms) | RSS after load (MB) | compile every validator (ms) | RSS after (MB) | heap after (MB) |\n|---|---:|---:|---:|---:|---:|---:|\n');
  for (const [name, file] of targets) {
    const figures = measure(file);
    process.stdout.write(`| ${name} | ${figures.operations} | ${figures.loadMs} | ${figures.rssAfterLoadMb} | ${figures.compileAllMs} | ${figures.rssAfterAllMb} | ${figures.heapAfterAllMb} |\n`);
  }
} finally {
  rmSync(directory, { recursive: true, force: true });
}
