import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NewKey } from '../store/key-store.ts';
import type { Store } from '../store/store.ts';
import { CLI_ACTOR } from '../store/audit-log.ts';
import { openSqliteKeyStore } from '../store/sqlite/sqlite-key-store.ts';
import { KeyCatalogue } from './key-catalogue.ts';
import { buildOverview, SettledSteps } from './overview.ts';

const MINUTE = 60_000;
const NOW = Date.parse('2026-01-01T12:00:30Z');
const at = (time: string) => Date.parse(`2026-01-01T${time}Z`);

function newKey(id: string, name: string): NewKey {
  return {
    id, name, digest: id.padEnd(64, '0'), displayPrefix: 'pcl_Test', tags: [], scopes: [], allowedCidrs: [],
    certFingerprint: null, rateLimit: null, quota: null, metadata: {}, expiresAt: null,
  };
}

describe('overview', () => {
  const directory = mkdtempSync(join(tmpdir(), 'portcullis-overview-'));
  let store: Store;

  before(async () => {
    store = await openSqliteKeyStore(join(directory, 'keys.db'));
    await store.createKey(newKey('key_alpha', 'alpha'), NOW - 86_400_000, CLI_ACTOR);
    await store.createKey(newKey('key_beta', 'beta'), NOW - 86_400_000, CLI_ACTOR);
    await store.revokeKey('key_beta', 'retired', NOW - MINUTE, CLI_ACTOR);
    const usage = (keyId: string, minute: number, requests: number, denials: Record<string, number> = {}) => ({ keyId, minute, requests, bytesIn: 0, bytesOut: 0, denials, addresses: [] });
    await store.recordUsageMinutes([
      usage('key_alpha', at('11:00:00'), 1000, { rate_limited: 1000 }),
      usage('key_alpha', at('11:01:00'), 10, { rate_limited: 2 }),
      usage('key_gone', at('11:30:00'), 1),
      usage('key_beta', at('12:00:00'), 4, { scope_missing: 1, rate_limited: 1 }),
    ]);
  });
  after(async () => {
    await store.close();
    rmSync(directory, { recursive: true, force: true });
  });

  it('sums the window in the store: a point per step, refusals by code, the top keys by name', async () => {
    const overview = await buildOverview({ catalogue: new KeyCatalogue(store, { lastSeq: 0 }), store, steps: new SettledSteps() }, '1h', NOW);
    assert.equal(overview.from, '2026-01-01T11:01:00.000Z');
    assert.equal(overview.to, '2026-01-01T12:01:00.000Z');
    assert.equal(overview.step, 60);
    assert.equal(overview.points.length, 60);
    assert.deepEqual(overview.points[0], { t: '2026-01-01T11:01:00.000Z', requests: 10, denied: 2, denials: { rate_limited: 2 } });
    assert.deepEqual(overview.points[29], { t: '2026-01-01T11:30:00.000Z', requests: 1, denied: 0, denials: {} });
    assert.deepEqual(overview.points[59], { t: '2026-01-01T12:00:00.000Z', requests: 4, denied: 2, denials: { rate_limited: 1, scope_missing: 1 } });
    assert.equal(overview.points.filter((point) => point.requests > 0).length, 3);
    assert.deepEqual(overview.codes, [{ code: 'rate_limited', count: 3 }, { code: 'scope_missing', count: 1 }]);
    assert.deepEqual(overview.totals, { requests: 15, denied: 4, keysWithTraffic: 3 });
    assert.deepEqual(overview.topByRequests, [
      { id: 'key_alpha', name: 'alpha', status: 'active', requests: 10, denied: 2 },
      { id: 'key_beta', name: 'beta', status: 'revoked', requests: 4, denied: 2 },
      { id: 'key_gone', name: 'key_gone', status: 'unknown', requests: 1, denied: 0 },
    ]);
    assert.deepEqual(overview.topByDenials.map((key) => [key.id, key.denied]), [['key_alpha', 2], ['key_beta', 2]]);
    assert.deepEqual(overview.recentRevocations.map((key) => key.name), ['beta']);
    assert.equal(overview.keys.total, 2);
  });

  it('has a point for every step of a quiet window', async () => {
    const overview = await buildOverview({ catalogue: new KeyCatalogue(store, { lastSeq: 0 }), store, steps: new SettledSteps() }, '24h', NOW + 2 * 86_400_000);
    assert.equal(overview.points.length, 96);
    assert.ok(overview.points.every((point) => point.requests === 0 && point.denied === 0));
    assert.deepEqual(overview.codes, []);
    assert.deepEqual(overview.totals, { requests: 0, denied: 0, keysWithTraffic: 0 });
    assert.deepEqual([overview.topByRequests, overview.topByDenials], [[], []]);
  });

  it('holds settled steps, and asks the store only for the newer ones on a second look', async () => {
    const reads: number[] = [];
    const counted = { usageSteps: (from: number, to: number, step: number) => (reads.push(from), store.usageSteps(from, to, step)) };
    const steps = new SettledSteps();
    const { from, to, step } = { from: at('11:01:00'), to: at('12:01:00'), step: MINUTE };
    const first = await steps.read(counted, { from, to, step }, NOW);
    // Settled: every step that ended by 11:58:30, that is up to 11:58:00.
    assert.deepEqual(await steps.read(counted, { from, to, step }, NOW + 1000), first);
    assert.deepEqual(reads, [from, at('11:58:00')]);
    // A minute later the window has moved on by one step; the held ones still serve.
    await store.recordUsageMinutes([{ keyId: 'key_alpha', minute: at('12:01:00'), requests: 7, bytesIn: 0, bytesOut: 0, denials: {}, addresses: [] }]);
    const later = await steps.read(counted, { from: from + MINUTE, to: to + MINUTE, step }, NOW + MINUTE);
    assert.equal(reads.at(-1), at('11:58:00'));
    assert.deepEqual(later.map((summed) => [new Date(summed.at).toISOString().slice(11, 16), summed.requests]), [['11:30', 1], ['12:00', 4], ['12:01', 7]]);
    // Held steps are read again once they are old enough that a cut-off node may have written since.
    await steps.read(counted, { from: from + MINUTE, to: to + MINUTE, step }, NOW + 11 * MINUTE);
    assert.equal(reads.at(-1), from + MINUTE);
  });
});
