import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { environmentVariableFor } from '../config/config-schema.ts';
import { gatewayConfig, loadConfig } from './config.ts';
import { CONFIGURATION_DOC_PATH, EXAMPLE_CONFIG_YAML, renderConfigurationDocs } from '../../scripts/generate-config-docs.ts';

describe('docs/configuration.md', () => {
  const rendered = renderConfigurationDocs();

  test('is up to date with the config fragments (run `npm run docs:config` when this fails)', () => {
    const committed = readFileSync(CONFIGURATION_DOC_PATH, 'utf8');
    assert.equal(committed, rendered, 'docs/configuration.md is stale: run `npm run docs:config` and commit the result');
  });

  test('has one row per option, with its environment variable', () => {
    const rows = rendered.split('\n').filter((line) => line.startsWith('| `'));
    const fields = gatewayConfig.options.map(({ field }) => field);
    assert.equal(rows.length, fields.length);
    for (const field of fields) {
      const row = rows.find((line) => line.startsWith(`| \`${field}\` |`));
      assert.ok(row, `no row for ${field}`);
      assert.ok(row.includes(`\`${environmentVariableFor(field)}\``), `row for ${field} lacks its environment variable`);
    }
  });

  test('its example portcullis.yaml is a valid configuration', () => {
    assert.ok(rendered.includes(EXAMPLE_CONFIG_YAML));
    const directory = mkdtempSync(join(tmpdir(), 'portcullis-docs-'));
    try {
      const file = join(directory, 'portcullis.yaml');
      writeFileSync(file, EXAMPLE_CONFIG_YAML);
      const config = loadConfig({ configFile: file, env: {}, cwd: directory });
      assert.equal(config.upstream.url?.href, 'http://127.0.0.1:3000/');
      assert.deepEqual(config.keys.acceptedPrefixes, ['pcl_live', 'pcl']);
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });
});
