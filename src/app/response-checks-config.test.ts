import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { problemsOf } from '../../test/support/config-problems.ts';
import { temporaryDirectory } from '../../test/support/processes.ts';
import { apisOf } from './apis-config.ts';
import { loadConfig } from './config.ts';

/** `openapi.responseChecks`: off by default, at the top level and per API (inheriting what an API leaves out). */
describe('openapi.responseChecks', () => {
  const directory = temporaryDirectory();
  after(() => directory.remove());
  let files = 0;
  const loadYaml = (yaml: string, env: Record<string, string> = {}) => {
    const file = join(directory.path, `response-checks-${files++}.yaml`);
    writeFileSync(file, yaml);
    return loadConfig({ configFile: file, env, cwd: directory.path });
  };

  it('is off by default, with a 64 KiB body bound', () => {
    const config = loadYaml('upstream: { url: http://127.0.0.1:9 }\n');
    assert.deepEqual(config.openapi.responseChecks, { sampleRate: 0, maxBodySize: 65_536 });
  });

  it('reads the top-level options from the file and from PORTCULLIS_* variables (a fraction too)', () => {
    assert.deepEqual(loadYaml('upstream: { url: http://127.0.0.1:9 }\nopenapi: { responseChecks: { sampleRate: 0.25, maxBodySize: 1kb } }\n').openapi.responseChecks, { sampleRate: 0.25, maxBodySize: 1024 });
    const fromEnv = loadYaml('upstream: { url: http://127.0.0.1:9 }\n', { PORTCULLIS_OPENAPI_RESPONSE_CHECKS_SAMPLE_RATE: '.5', PORTCULLIS_OPENAPI_RESPONSE_CHECKS_MAX_BODY_SIZE: '2048' });
    assert.deepEqual(fromEnv.openapi.responseChecks, { sampleRate: 0.5, maxBodySize: 2048 });
  });

  it('refuses a rate outside 0..1', () => {
    assert.match(problemsOf(() => loadYaml('upstream: { url: http://127.0.0.1:9 }\nopenapi: { responseChecks: { sampleRate: 2 } }\n')).join('\n'), /openapi\.responseChecks\.sampleRate/);
    assert.match(problemsOf(() => loadYaml('upstream: { url: http://127.0.0.1:9 }\n', { PORTCULLIS_OPENAPI_RESPONSE_CHECKS_SAMPLE_RATE: 'half' })).join('\n'), /openapi\.responseChecks\.sampleRate/);
  });

  it('gives each API the top-level values, overridden option by option by its own', () => {
    const config = loadYaml(`
openapi: { responseChecks: { sampleRate: 0.1, maxBodySize: 8kb } }
apis:
  - name: orders
    pathPrefix: /orders
    upstream: { url: http://127.0.0.1:9 }
    openapi: { responseChecks: { sampleRate: 1 } }
  - name: billing
    pathPrefix: /billing
    upstream: { url: http://127.0.0.1:9 }
`);
    assert.deepEqual(apisOf(config).map((api) => api.routes.openapi.responseChecks), [{ sampleRate: 1, maxBodySize: 8192 }, { sampleRate: 0.1, maxBodySize: 8192 }]);
  });
});
