import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { loadConfig } from '../app/config.ts';
import { ConfigError } from '../config/config-error.ts';
import { actionForKey, actionForTags, readTagActions, tagActionsOption } from './tag-actions.ts';

const STRENGTH = ['quarantine', 'revoke'] as const;
type LeakAction = (typeof STRENGTH)[number];

describe('tag actions', () => {
  it('takes the strongest action of a key\'s tags, else the default', () => {
    const tagActions = readTagActions<LeakAction>('leaks.alerts.tagActions', ['public=quarantine', 'internal=revoke']);
    assert.equal(actionForTags([], 'revoke', tagActions, STRENGTH), 'revoke');
    assert.equal(actionForTags(['other'], 'revoke', tagActions, STRENGTH), 'revoke');
    assert.equal(actionForTags(['public'], 'revoke', tagActions, STRENGTH), 'quarantine');
    assert.equal(actionForTags(['internal'], 'quarantine', tagActions, STRENGTH), 'revoke');
    assert.equal(actionForTags(['public', 'internal'], 'quarantine', tagActions, STRENGTH), 'revoke');
    assert.equal(actionForTags(['internal', 'public'], 'quarantine', tagActions, STRENGTH), 'revoke', 'whatever the order of the tags');
  });

  it('takes a key\'s own action over its tags\' and the default; one the source lacks is its weakest', () => {
    const tagActions = readTagActions<LeakAction>('leaks.alerts.tagActions', ['public=quarantine', 'internal=revoke']);
    assert.equal(actionForKey({ tags: ['internal'], leakAction: null }, 'quarantine', tagActions, STRENGTH), 'revoke', 'inherits: the tags');
    assert.equal(actionForKey({ tags: [], leakAction: null }, 'quarantine', tagActions, STRENGTH), 'quarantine', 'inherits: the default');
    assert.equal(actionForKey({ tags: ['internal'], leakAction: 'quarantine' }, 'revoke', tagActions, STRENGTH), 'quarantine', 'weaker than its tag');
    assert.equal(actionForKey({ tags: ['public'], leakAction: 'revoke' }, 'quarantine', tagActions, STRENGTH), 'revoke', 'stronger than its tag');
    assert.equal(actionForKey({ tags: ['internal'], leakAction: 'notify' }, 'revoke', tagActions, STRENGTH), 'quarantine', 'notify on a leak report holds the key');
    const anomaly = ['notify', 'quarantine', 'revoke'] as const;
    assert.equal(actionForKey({ tags: ['internal'], leakAction: 'notify' }, 'revoke', new Map([['internal', 'revoke' as const]]), anomaly), 'notify');
  });

  it('names the field when a tag is given two actions; the same one twice is fine', () => {
    assert.throws(() => readTagActions('leaks.presentation.tagActions', ['public=quarantine', 'public=revoke']), (error: unknown) => error instanceof ConfigError && /leaks\.presentation\.tagActions: tag "public" is given two actions \(quarantine and revoke\)/.test(error.message));
    assert.deepEqual([...readTagActions('x', ['a:b=revoke', 'a:b=revoke'])], [['a:b', 'revoke']]);
  });

  it('has a schema that takes TAG=ACTION for the given actions only', () => {
    const validate = new Ajv().compile(tagActionsOption(['quarantine', 'revoke'], 'test'));
    assert.ok(validate(['public=quarantine', 'tier.free=revoke']));
    for (const bad of [['public=notify'], ['public'], ['=revoke'], ['bad tag=revoke'], ['public=revoke=revoke']]) assert.ok(!validate(bad), JSON.stringify(bad));
  });
});

describe('leaks.alerts.tagActions and leaks.presentation.tagActions in the config file', () => {
  function load(yaml: string) {
    const directory = mkdtempSync(join(tmpdir(), 'portcullis-tag-actions-'));
    try {
      writeFileSync(join(directory, 'portcullis.yaml'), `upstream:\n  url: http://127.0.0.1:3000\n${yaml}`);
      return loadConfig({ configFile: join(directory, 'portcullis.yaml'), env: {}, cwd: directory });
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  }

  it('reads them into maps, empty by default', () => {
    const config = load('leaks:\n  presentation:\n    action: revoke\n    tagActions: [publishable=quarantine]\n  alerts:\n    tagActions: [internal=revoke]\n');
    assert.deepEqual([...config.leaks.presentation.tagActions], [['publishable', 'quarantine']]);
    assert.deepEqual([...config.leaks.alerts.tagActions], [['internal', 'revoke']]);
    assert.equal(load('').leaks.alerts.tagActions.size, 0);
  });

  it('names the field of a bad entry and of a tag given two actions', () => {
    assert.throws(() => load('leaks:\n  alerts:\n    tagActions: [publishable=notify]\n'), /leaks\.alerts\.tagActions/);
    assert.throws(() => load('leaks:\n  presentation:\n    tagActions: [a=revoke, a=quarantine]\n'), /leaks\.presentation\.tagActions: tag "a" is given two actions/);
  });
});
