import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { configFormats, environmentVariableFor } from '../config/config-schema.ts';
import { compileConfigValidator } from '../config/validate-config.ts';
import { gatewayConfig, loadConfig } from './config.ts';
import { temporaryDirectory } from '../../test/support/processes.ts';
import { problemsOf } from '../../test/support/config-problems.ts';

describe('the configuration schema', () => {
  it('is a valid JSON Schema (start-up skips this check for speed)', () => {
    assert.doesNotThrow(() => compileConfigValidator(gatewayConfig.schema, configFormats(gatewayConfig.fragments), { checkSchema: true }));
  });

  it('is refused when it is not (the check above can fail)', () => {
    const broken = { type: 'object', properties: { listen: { type: 'text' } } };
    assert.throws(() => compileConfigValidator(broken, configFormats(gatewayConfig.fragments), { checkSchema: true }), /schema is invalid/);
  });
});

describe('loadConfig', () => {
  const directory = temporaryDirectory();
  after(() => directory.remove());

  it('has safe defaults: loopback listener, embedded store, no query-string keys', () => {
    const config = loadConfig({ env: {}, cwd: directory.path });
    assert.deepEqual(config.listen, { host: '127.0.0.1', port: 8080 });
    assert.equal(config.store, join(directory.path, 'data', 'portcullis.db'));
    assert.equal(config.keys.queryParameter, null);
    assert.deepEqual(config.keys.headers, ['authorization', 'x-api-key']);
    assert.equal(config.upstream.url, null);
  });

  it('layers file < environment < flags', () => {
    const file = join(directory.path, 'layered.yaml');
    writeFileSync(file, 'listen: 127.0.0.1:1111\nupstream:\n  url: http://127.0.0.1:3000\n  headersTimeout: 2s\nlog:\n  level: warn\n');
    const config = loadConfig({
      configFile: file,
      cwd: directory.path,
      env: { PORTCULLIS_LISTEN: '127.0.0.1:2222', PORTCULLIS_UPSTREAM_HEADERS_TIMEOUT: '3s' },
      flags: [{ field: 'listen', value: '127.0.0.1:3333', flag: '--listen' }],
    });
    assert.equal(config.listen.port, 3333);
    assert.equal(config.upstream.headersTimeout, 3000);
    assert.equal(config.upstream.url?.href, 'http://127.0.0.1:3000/');
    assert.equal(config.log.level, 'warn');
    assert.equal(config.configFile, file);
  });

  it('reads ./portcullis.yaml from the working directory when present', () => {
    const cwd = join(directory.path);
    writeFileSync(join(cwd, 'portcullis.yaml'), 'listen: 127.0.0.1:4444\n');
    assert.equal(loadConfig({ env: {}, cwd }).listen.port, 4444);
  });

  it('names the field, what was expected, what was found and where it came from', () => {
    const file = join(directory.path, 'bad.yaml');
    writeFileSync(file, 'upstream:\n  url: ftp://example\n  connections: many\nserver:\n  drainTimeout: forever\nlisten: 127.0.0.1:80\nupstrem: typo\n');
    const problems = problemsOf(() => loadConfig({ configFile: file, env: {}, cwd: directory.path }));
    assert.ok(problems.some((problem) => problem.startsWith(`upstream.url (from ${file}): expected an http:// or https:// URL`) && problem.includes('found "ftp://example"')), problems.join('\n'));
    assert.ok(problems.some((problem) => problem.startsWith('upstream.connections') && problem.includes('expected integer') && problem.includes('found "many"')), problems.join('\n'));
    assert.ok(problems.some((problem) => problem.startsWith('server.drainTimeout') && problem.includes('expected a duration')), problems.join('\n'));
    assert.ok(problems.some((problem) => problem.startsWith('upstrem') && problem.includes('no such option')), problems.join('\n'));
  });

  it('reports environment variables and flags by name', () => {
    const problems = problemsOf(() =>
      loadConfig({ env: { PORTCULLIS_LOG_LEVEL: 'loud' }, cwd: directory.path, flags: [{ field: 'upstream.url', value: 'not a url', flag: '--upstream' }] }),
    );
    assert.ok(problems.some((problem) => problem.startsWith('log.level (from PORTCULLIS_LOG_LEVEL): expected one of')), problems.join('\n'));
    assert.ok(problems.some((problem) => problem.startsWith('upstream.url (from --upstream)')), problems.join('\n'));
  });

  it('refuses upstream URLs with credentials or a query', () => {
    for (const url of ['http://user:pass@api.internal', 'http://api.internal/?a=1', 'http://api.internal/#x']) {
      problemsOf(() => loadConfig({ env: {}, cwd: directory.path, flags: [{ field: 'upstream.url', value: url, flag: '--upstream' }] }));
    }
  });

  it('refuses YAML with duplicate keys and a file that is not a mapping', () => {
    const duplicate = join(directory.path, 'dup.yaml');
    writeFileSync(duplicate, 'listen: 127.0.0.1:1\nlisten: 0.0.0.0:1\n');
    assert.match(problemsOf(() => loadConfig({ configFile: duplicate, env: {}, cwd: directory.path }))[0]!, /dup\.yaml/);
    const list = join(directory.path, 'list.yaml');
    writeFileSync(list, '- a\n- b\n');
    assert.match(problemsOf(() => loadConfig({ configFile: list, env: {}, cwd: directory.path }))[0]!, /expected a mapping/);
    assert.match(problemsOf(() => loadConfig({ configFile: join(directory.path, 'missing.yaml'), env: {}, cwd: directory.path }))[0]!, /cannot be read \(ENOENT\)/);
  });

  it('maps fields to PORTCULLIS_ variables', () => {
    assert.equal(environmentVariableFor('upstream.headersTimeout'), 'PORTCULLIS_UPSTREAM_HEADERS_TIMEOUT');
    assert.equal(environmentVariableFor('listen'), 'PORTCULLIS_LISTEN');
  });

  it('reads comma-separated lists from the environment', () => {
    const config = loadConfig({ env: { PORTCULLIS_KEYS_HEADERS: 'X-Client-Key, authorization' }, cwd: directory.path });
    assert.deepEqual(config.keys.headers, ['x-client-key', 'authorization']);
  });
});
