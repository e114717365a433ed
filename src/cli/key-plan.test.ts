import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KeyRecord } from '../keys/key-record.ts';
import { parseKeysFile } from './keys-file.ts';
import { planChangesNothing, planKeys } from './key-plan.ts';
import { fakeKey } from '../../test/support/fake-context.ts';

const t0 = 1_700_000_000_000;

/** A stored key as `keys export` reads it: `fakeKey`'s record with this id, a name from it, made at t0. */
function record(id: string, settings: Partial<KeyRecord> = {}): KeyRecord {
  return fakeKey({ id, name: id.replace('key_', ''), digest: 'd'.repeat(64), displayPrefix: 'pcl_Abcd', createdAt: t0, updatedAt: t0, ...settings }).record;
}

function file(yaml: string) {
  return parseKeysFile(`schemaVersion: 1\n${yaml}`, 'keys.yaml');
}

describe('planKeys', () => {
  it('matches by id, then by name among live keys; creates the rest; lists the unnamed live keys', () => {
    const stored = [record('key_a', { name: 'web-1', scopes: ['x'] }), record('key_b', { name: 'web-2' }), record('key_old', { name: 'gone' }), record('key_dead', { name: 'web-3', revokedAt: t0 })];
    const plan = planKeys(
      file(`keys:
  - { id: key_a, name: web-1, scopes: [x, y] }
  - { name: web-2 }
  - { name: web-3, tags: [new] }
  - { id: key_fixed, name: declared-id }`),
      stored,
    );
    assert.deepEqual(plan.update.map(({ record: updated, changes }) => [updated.id, changes]), [['key_a', [{ setting: 'scopes', from: ['x'], to: ['x', 'y'] }]]]);
    assert.deepEqual(plan.unchanged.map((unchanged) => unchanged.id), ['key_b']);
    assert.deepEqual(plan.create.map((declared) => [declared.id, declared.settings.name]), [['key_fixed', 'declared-id'], [null, 'web-3']]);
    assert.deepEqual(plan.unnamed.map((unnamed) => unnamed.id), ['key_old']);
    assert.equal(planChangesNothing(plan, false), false);
  });

  it('a setting left out means none: a stored rate, expiry or tag is cleared', () => {
    const plan = planKeys(file('keys:\n  - { id: key_a, name: a }'), [record('key_a', { rateLimit: '10/s', expiresAt: t0, tags: ['t'], metadata: { x: 1 } })]);
    assert.deepEqual(plan.update[0]?.changes.map((change) => [change.setting, change.to]), [['tags', []], ['rateLimit', null], ['expiresAt', null], ['metadata', {}]]);
  });

  it('changes nothing when the store already matches, even with --prune', () => {
    const stored = [record('key_a', { name: 'a', tags: ['t'], rateLimit: '100/s', expiresAt: Date.parse('2030-01-01T00:00:00Z') }), record('key_r', { name: 'rotated', rotatedTo: 'key_a' })];
    const plan = planKeys(file('keys:\n  - { id: key_a, name: a, tags: [t], rateLimit: 100/s, expiresAt: "2030-01-01T00:00:00.000Z" }'), stored);
    assert.equal(planChangesNothing(plan, true), true, 'a rotated-away key is not live: never revoked by --prune');
  });

  it('with a selector, touches only the keys with its tag', () => {
    const stored = [record('key_in', { name: 'in', tags: ['team'] }), record('key_out', { name: 'out' })];
    const plan = planKeys(file('selector: { tag: team }\nkeys: []'), stored);
    assert.deepEqual(plan.unnamed.map((unnamed) => unnamed.id), ['key_in']);
  });

  it('refuses what it cannot apply: a revoked or rotated id, an ambiguous name, two unnamed entries alike', () => {
    const stored = [record('key_rev', { revokedAt: t0 }), record('key_rot', { rotatedTo: 'key_new' }), record('key_x1', { name: 'twin' }), record('key_x2', { name: 'twin' })];
    assert.throws(() => planKeys(file('keys:\n  - { id: key_rev, name: a }'), stored), /key_rev is revoked/);
    assert.throws(() => planKeys(file('keys:\n  - { id: key_rot, name: a }'), stored), /rotated to key_new: declare key_new instead/);
    assert.throws(() => planKeys(file('keys:\n  - { name: twin }'), stored), /2 live keys are named "twin" \(key_x1, key_x2\)/);
    assert.throws(() => planKeys(file('keys:\n  - { name: same }\n  - { name: same }'), []), /same name and no id either/);
  });
});

describe('parseKeysFile', () => {
  it('reads every setting, canonically', () => {
    const parsed = file(`keys:
  - id: key_LjFY2Cfhe9AiOHc4SLKZ
    name: web-1
    tags: [frontend, frontend]
    scopes: ['orders:*']
    apis: [orders, billing, orders]
    allowedCidrs: [10.0.0.0/8]
    certFingerprint: "AB:${'cd:'.repeat(30)}ef"
    rateLimit: 100/s burst 200
    quota: 10000/day
    expiresAt: 2030-01-01T00:00:00Z
    metadata: { team: web }
    leakAction: quarantine`);
    assert.deepEqual(parsed.keys[0]?.settings, {
      name: 'web-1',
      tags: ['frontend'],
      scopes: ['orders:*'],
      apis: ['orders', 'billing'],
      allowedCidrs: ['10.0.0.0/8'],
      certFingerprint: `ab${'cd'.repeat(30)}ef`,
      rateLimit: '100/s burst 200',
      quota: '10000/day',
      expiresAt: Date.parse('2030-01-01T00:00:00Z'),
      metadata: { team: 'web' },
      leakAction: 'quarantine',
    });
    assert.equal(file('keys:\n  - { name: web-2 }').keys[0]?.settings.leakAction, null, 'left out: inherit');
    assert.throws(() => file('keys:\n  - { name: web-3, leakAction: delete }'), /keys\[0\] \(web-3\)\.leakAction: expected one of notify, quarantine, revoke/);
  });

  it('names every problem: the entry, the field, what was expected and found', () => {
    assert.throws(
      () => file('keys:\n  - { name: web-1, rate: 5/s, scopes: ["bad scope"], allowedCidrs: [10.0.0.1/8], quota: lots }\n  - { tags: [x] }\n  - { id: key_a, name: a }\n  - { id: key_a, name: b }'),
      (error: Error) => {
        for (const expected of [/keys\[0\] \(web-1\)\.rate: no such setting/, /keys\[0\] \(web-1\)\.scopes: expected .*found "bad scope"/, /keys\[0\] \(web-1\)\.allowedCidrs: .*10\.0\.0\.1\/8/, /keys\[0\] \(web-1\)\.quota: expected a quota/, /keys\[1\]\.name: required/, /keys\[3\] \(b\)\.id: key_a is declared twice/]) {
          assert.match(error.message, expected);
        }
        return true;
      },
    );
    assert.throws(() => parseKeysFile('keys: []\n', 'k.yaml'), /schemaVersion: expected 1/);
    assert.throws(() => file('selector: { tag: a }\nkeys:\n  - { name: x }'), /lacks the tag/);
    assert.throws(() => file('keys:\n  - { name: x, path: /a/{id} }'), /hint: in YAML, \{ … \} is a mapping/);
  });
});
