import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ErrorObject } from 'ajv';
import { configFormats } from '../config/config-schema.ts';
import { compileSchema, generateValidatorSource, loadPrecompiledValidator } from '../config/precompiled-validator.ts';
import { gatewayConfig } from './config.ts';
import { temporaryDirectory } from '../../test/support/processes.ts';

/** Sets a dotted field of a document. */
function withField(document: Record<string, unknown>, field: string, value: unknown): Record<string, unknown> {
  const parts = field.split('.');
  let node = document;
  for (const part of parts.slice(0, -1)) node = (node[part] ??= {}) as Record<string, unknown>;
  node[parts[parts.length - 1] as string] = value;
  return document;
}

/** Documents that reach every option: empty, every option its default, and every option given a value of each wrong kind. */
function documents(): Array<{ name: string; document: Record<string, unknown> }> {
  const everyOption = (value: (schema: Record<string, unknown>) => unknown) => gatewayConfig.options.reduce((document, { field, schema }) => withField(document, field, structuredClone(value(schema as Record<string, unknown>))), {} as Record<string, unknown>);
  return [
    { name: 'empty', document: {} },
    { name: 'every default', document: everyOption((schema) => schema.default) },
    { name: 'every option a mapping', document: everyOption(() => ({ wrong: 1 })) },
    { name: 'every option a nonsense string', document: everyOption(() => 'nonsense value') },
    { name: 'every option a negative number', document: everyOption(() => -5) },
    { name: 'every option a list of nonsense', document: everyOption(() => ['::not-a-cidr', 7]) },
    { name: 'unknown options at each level', document: { ...everyOption(() => undefined), listn: 1, upstream: { urll: 'x' }, network: { alow: [] } } },
  ];
}

function run(validate: ReturnType<typeof compileSchema>, document: Record<string, unknown>): { valid: boolean; document: unknown; errors: ErrorObject[] } {
  const copy = structuredClone(document);
  const valid = validate(copy);
  return { valid, document: copy, errors: (validate.errors ?? []).map((error) => ({ ...error })) };
}

describe('the generated configuration validator', () => {
  const directory = temporaryDirectory();
  after(() => directory.remove());
  const formats = configFormats(gatewayConfig.fragments);
  const file = pathToFileURL(join(directory.path, 'config-validator.cjs'));
  writeFileSync(file, generateValidatorSource(gatewayConfig.schema, formats));

  it('gives exactly what compiling the schema gives: validity, filled defaults and every error', () => {
    const generated = loadPrecompiledValidator(gatewayConfig.schema, formats, file);
    assert.ok(generated !== null, 'the generated file matches the schema it was made from');
    const compiled = compileSchema(gatewayConfig.schema, formats);
    let invalid = 0;
    for (const { name, document } of documents()) {
      const expected = run(compiled, document);
      if (!expected.valid) invalid++;
      assert.deepEqual(run(generated, document), expected, name);
    }
    assert.equal(invalid, 5, 'five of the seven documents are refused, so errors are compared too');
  });

  it('is not used for another schema: a changed option falls back to compiling', () => {
    const changed = structuredClone(gatewayConfig.schema) as { properties: { listen: { default: unknown } } };
    changed.properties.listen.default = '127.0.0.1:9090';
    assert.equal(loadPrecompiledValidator(changed, formats, file), null);
  });

  it('is not needed: without the file, the schema is compiled', () => {
    assert.equal(loadPrecompiledValidator(gatewayConfig.schema, formats, pathToFileURL(join(directory.path, 'missing.cjs'))), null);
  });
});
