/**
 * `portcullis incidents list`: the leak incidents of a store (a secret-scanning alert, a
 * presented key, an operator's quarantine), newest first, with the key's status now; --json
 * as docs/cli-json/incidents-list.schema.json says; usage errors exit 2.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsPlugin from 'ajv-formats';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { openKeyStore } from '../../src/store/open-key-store.ts';
import { CLI_ACTOR } from '../../src/store/audit-log.ts';
import { createKeyInStore } from '../support/in-process-gateway.ts';
import { PROJECT_ROOT, runCli, temporaryDirectory } from '../support/processes.ts';

/** Validates against docs/cli-json/incidents-list.schema.json, as cli-conventions.test.ts validates every command. */
function validateIncidents(output: unknown): void {
  const ajv = new Ajv2020({ allErrors: true, strict: true });
  (addFormatsPlugin as unknown as (instance: Ajv2020) => void)(ajv);
  const folder = join(PROJECT_ROOT, 'docs', 'cli-json');
  for (const file of readdirSync(folder).filter((name) => name.endsWith('.schema.json'))) ajv.addSchema(JSON.parse(readFileSync(join(folder, file), 'utf8')) as object);
  const validate = ajv.getSchema('https://portcullis.invalid/cli-json/v1/incidents-list.schema.json');
  assert.ok(validate);
  assert.ok(validate(output), ajv.errorsText(validate.errors));
}

describe('portcullis incidents list', () => {
  const directory = temporaryDirectory();
  after(() => directory.remove());
  const store = join(directory.path, 'k.db');

  it('lists alerts, presentations and quarantines newest first, with evidence and the key\'s status now', async () => {
    const alerted = await createKeyInStore(store, { name: 'ci-runner' });
    const presented = await createKeyInStore(store, { name: 'mobile-app' });
    const held = await createKeyInStore(store, { name: 'partner' });
    const quiet = await createKeyInStore(store, { name: 'quiet' });
    const opened = await openKeyStore(store);
    try {
      await opened.quarantineKey(alerted.id, 'reported leaked by secret scanning', Date.now(), { actor: 'secret-scanning', address: '192.30.252.1' }, { url: 'https://github.com/acme/app/blob/1/.env', source: 'content' });
      await opened.revokeKey(presented.id, 'presented as leaked', Date.now(), { actor: 'key-presentation', address: '198.51.100.7' }, { url: 'https://paste.example/raw/abc', source: 'presentation' });
      await opened.quarantineKey(held.id, 'seen in a support ticket', Date.now(), CLI_ACTOR);
      await opened.releaseKey(alerted.id, 'false alarm', Date.now(), CLI_ACTOR);
      await opened.revokeKey(quiet.id, 'rotated out', Date.now(), CLI_ACTOR);
    } finally {
      await opened.close();
    }
    const json = await runCli(['incidents', 'list', '--store', store, '--json']);
    assert.equal(json.code, 0, json.stderr);
    const incidents = JSON.parse(json.stdout) as Array<Record<string, unknown>>;
    validateIncidents(incidents);
    assert.deepEqual(incidents.map((incident) => [incident.kind, incident.keyId, incident.keyName, incident.action, incident.keyStatus, incident.address, incident.url]), [
      ['quarantine', held.id, 'partner', 'quarantined', 'quarantined', null, null],
      ['presentation', presented.id, 'mobile-app', 'revoked', 'revoked', '198.51.100.7', 'https://paste.example/raw/abc'],
      ['alert', alerted.id, 'ci-runner', 'quarantined', 'active', '192.30.252.1', 'https://github.com/acme/app/blob/1/.env'],
    ]);
    const table = await runCli(['incidents', 'list', '--store', store]);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^SEQ +TIME +KIND +KEY +NAME +ACTION +NOW +FROM +EVIDENCE\n/);
    assert.match(table.stdout, /presentation +\S+ +mobile-app +revoked +revoked +198\.51\.100\.7 +https:\/\/paste\.example\/raw\/abc/);
    const limited = await runCli(['incidents', 'list', '--store', store, '--json', '--limit', '1']);
    assert.equal((JSON.parse(limited.stdout) as unknown[]).length, 1);
  });

  it('exits 2 on a bad --limit, and 1 without a store, creating none', async () => {
    const bad = await runCli(['incidents', 'list', '--store', store, '--limit', '0']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--limit: expected a whole number from 1 to 1000/);
    const missing = await runCli(['incidents', 'list', '--store', join(directory.path, 'none.db')]);
    assert.equal(missing.code, 1, missing.stderr);
    assert.equal(existsSync(join(directory.path, 'none.db')), false);
  });
});
