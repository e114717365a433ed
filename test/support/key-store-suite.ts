/**
 * The behaviour every `KeyStore` must have, as one suite that runs unchanged
 * against each implementation (SQLite now, PostgreSQL later). It uses only the
 * interface: nothing here may know which database is underneath.
 *
 * @example
 * runKeyStoreSuite('SqliteKeyStore', async () => {
 *   const store = await openSqliteKeyStore(tempPath());
 *   return { store, cleanup: () => store.close() };
 * });
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { KeyRecord } from '../../src/keys/key-record.ts';
import type { KeyEvent, KeyStore, NewKey } from '../../src/store/key-store.ts';
import type { AuditActor } from '../../src/store/audit-log.ts';
import { runKeyStoreRoundTrips } from './key-store-round-trips.ts';

export type MakeKeyStore = () => Promise<{ store: KeyStore; cleanup: () => Promise<void> }>;

/** Who the suite's changes are made by; the audit log suite checks what is recorded. */
const by: AuditActor = { actor: 'cli', address: null };
const t0 = 1_700_000_000_000;
const minute = 60_000;
const day = 24 * 60 * minute;

/** A stand-in for a SHA-256 hex digest; the store only needs it unique. */
function fakeDigest(): string {
  return randomBytes(32).toString('hex');
}

export function newKey(id: string, settings: Partial<NewKey> = {}): NewKey {
  return {
    id,
    digest: fakeDigest(),
    displayPrefix: `pcl_${id.slice(-4)}`,
    name: `client ${id}`,
    tags: [],
    scopes: [],
    allowedCidrs: [],
    certFingerprint: null,
    signingKey: null,
    apis: [],
    leakAction: null,
    rateLimit: null,
    quota: null,
    metadata: {},
    expiresAt: null,
    ...settings,
  };
}

export function replacementFor(id: string): Pick<NewKey, 'id' | 'digest' | 'displayPrefix'> {
  return { id, digest: fakeDigest(), displayPrefix: `pcl_${id.slice(-4)}` };
}

/** The record a store must return right after `createKey(key, now)`. */
function createdRecord(key: NewKey, now: number): KeyRecord {
  return {
    ...key,
    signingKey: key.signingKey ?? null,
    apis: key.apis ?? [],
    leakAction: key.leakAction ?? null,
    createdAt: now,
    updatedAt: now,
    revokedAt: null,
    revokedReason: null,
    quarantinedAt: null,
    quarantinedReason: null,
    rotatedTo: null,
    lastUsedAt: null,
    lastUsedAddress: null,
  };
}

async function allEvents(store: KeyStore): Promise<KeyEvent[]> {
  return store.eventsSince(0, 100_000);
}

/** Events without their seq, for comparing what happened regardless of numbering. */
async function eventLog(store: KeyStore): Promise<Omit<KeyEvent, 'seq'>[]> {
  return (await allEvents(store)).map(({ keyId, kind, at }) => ({ keyId, kind, at }));
}

function ids(records: readonly KeyRecord[]): string[] {
  return records.map((record) => record.id);
}

function assertStrictlyIncreasing(events: readonly KeyEvent[]): void {
  for (let i = 1; i < events.length; i++) {
    assert.ok(events[i]!.seq > events[i - 1]!.seq, `seq ${events[i]!.seq} follows ${events[i - 1]!.seq}`);
  }
}

export function runKeyStoreSuite(label: string, makeStore: MakeKeyStore): void {
  describe(`KeyStore: ${label}`, () => {
    let store: KeyStore;
    let cleanup: () => Promise<void>;

    beforeEach(async () => {
      ({ store, cleanup } = await makeStore());
      // Whether opening migrates is the implementation's choice; migrate() is idempotent either way.
      await store.migrate();
    });
    afterEach(async () => {
      await cleanup();
    });

    runKeyStoreRoundTrips(() => store);

    describe('migrate', () => {
      it('starts empty', async () => {
        assert.deepEqual(await store.listKeys(), []);
        assert.equal(await store.latestEventSeq(), 0);
        assert.deepEqual(await store.eventsSince(0, 10), []);
      });

      it('is idempotent and keeps the data', async () => {
        const key = newKey('key_a');
        await store.createKey(key, t0, by);
        await store.migrate();
        await store.migrate();
        assert.deepEqual(await store.getKeyById('key_a'), createdRecord(key, t0));
        assert.deepEqual(await eventLog(store), [{ keyId: 'key_a', kind: 'created', at: t0 }]);
      });
    });

    describe('createKey', () => {
      it('returns the full record and stores it', async () => {
        const key = newKey('key_full', {
          name: 'billing-service (eu-west) ✓',
          tags: ['prod', 'billing'],
          scopes: ['invoices:read', 'invoices:write'],
          allowedCidrs: ['10.0.0.0/8', '2001:db8::/32'],
          certFingerprint: 'ab'.repeat(32),
          rateLimit: '100/s burst 200',
          quota: '10000/day',
          metadata: { owner: 'team-billing', limits: { burst: 20 }, flags: [true, null, 1.5] },
          expiresAt: t0 + 30 * day,
        });
        const expected = createdRecord(key, t0);
        assert.deepEqual(await store.createKey(key, t0, by), expected);
        assert.deepEqual(await store.getKeyById(key.id), expected);
        assert.deepEqual(await store.getKeyByDigest(key.digest), expected);
      });

      it('answers null for an unknown id or digest', async () => {
        await store.createKey(newKey('key_a'), t0, by);
        assert.equal(await store.getKeyById('key_missing'), null);
        assert.equal(await store.getKeyByDigest(fakeDigest()), null);
      });

      it('appends one created event', async () => {
        await store.createKey(newKey('key_a'), t0, by);
        const events = await allEvents(store);
        assert.equal(events.length, 1);
        assert.deepEqual({ keyId: events[0]!.keyId, kind: events[0]!.kind, at: events[0]!.at }, {
          keyId: 'key_a',
          kind: 'created',
          at: t0,
        });
        assert.ok(events[0]!.seq > 0);
        assert.equal(await store.latestEventSeq(), events[0]!.seq);
      });

      it('refuses a second key with the same digest, writing neither key nor event', async () => {
        const first = newKey('key_a');
        await store.createKey(first, t0, by);
        const seq = await store.latestEventSeq();
        await assert.rejects(store.createKey(newKey('key_b', { digest: first.digest }), t0 + 1, by));
        assert.equal(await store.getKeyById('key_b'), null);
        assert.equal((await store.getKeyByDigest(first.digest))?.id, 'key_a');
        assert.equal(await store.latestEventSeq(), seq);
        assert.deepEqual(ids(await store.listKeys()), ['key_a']);
      });

      it('refuses a second key with the same id, writing no event', async () => {
        const first = newKey('key_a', { tags: ['one'] });
        await store.createKey(first, t0, by);
        await assert.rejects(store.createKey(newKey('key_a', { tags: ['two'] }), t0 + 1, by));
        assert.deepEqual(await store.getKeyById('key_a'), createdRecord(first, t0));
        assert.deepEqual(await store.listKeys({ tag: 'two' }), []);
        assert.equal((await allEvents(store)).length, 1);
      });
    });

    describe('getKeysByCertFingerprint', () => {
      it('returns the keys bound to a certificate, newest first, and nothing for other fingerprints', async () => {
        const bound = 'ab'.repeat(32);
        await store.createKey(newKey('key_old', { certFingerprint: bound }), t0, by);
        await store.createKey(newKey('key_other', { certFingerprint: 'cd'.repeat(32) }), t0 + minute, by);
        await store.createKey(newKey('key_unbound'), t0 + minute, by);
        await store.createKey(newKey('key_new', { certFingerprint: bound }), t0 + 2 * minute, by);
        assert.deepEqual(ids(await store.getKeysByCertFingerprint(bound)), ['key_new', 'key_old']);
        assert.deepEqual(await store.getKeysByCertFingerprint('ef'.repeat(32)), []);
      });

      it('finds a rotated key and its replacement, which keeps the binding', async () => {
        const bound = 'ab'.repeat(32);
        await store.createKey(newKey('key_a', { certFingerprint: bound }), t0, by);
        await store.rotateKey('key_a', replacementFor('key_b'), t0 + day, t0 + minute, by);
        assert.deepEqual(ids(await store.getKeysByCertFingerprint(bound)), ['key_b', 'key_a']);
      });
    });

    describe('listKeys', () => {
      it('orders by id, not by creation', async () => {
        for (const id of ['key_c', 'key_a', 'key_d', 'key_b']) await store.createKey(newKey(id), t0, by);
        assert.deepEqual(ids(await store.listKeys()), ['key_a', 'key_b', 'key_c', 'key_d']);
      });

      it('pages with after and limit', async () => {
        for (const id of ['key_e', 'key_a', 'key_d', 'key_b', 'key_c']) await store.createKey(newKey(id), t0, by);
        const pages: string[][] = [];
        let after: string | undefined;
        for (;;) {
          const page = await store.listKeys(after === undefined ? { limit: 2 } : { limit: 2, after });
          if (page.length === 0) break;
          pages.push(ids(page));
          after = page.at(-1)!.id;
        }
        assert.deepEqual(pages, [['key_a', 'key_b'], ['key_c', 'key_d'], ['key_e']]);
        assert.deepEqual(ids(await store.listKeys({ after: 'key_b0' })), ['key_c', 'key_d', 'key_e']);
      });

      it('filters by tag, with paging', async () => {
        await store.createKey(newKey('key_a', { tags: ['prod', 'eu'] }), t0, by);
        await store.createKey(newKey('key_b', { tags: ['staging'] }), t0, by);
        await store.createKey(newKey('key_c', { tags: ['eu'] }), t0, by);
        await store.createKey(newKey('key_d', { tags: ['prod'] }), t0, by);
        await store.createKey(newKey('key_e', { tags: ['prod'] }), t0, by);
        assert.deepEqual(ids(await store.listKeys({ tag: 'prod' })), ['key_a', 'key_d', 'key_e']);
        assert.deepEqual(ids(await store.listKeys({ tag: 'eu' })), ['key_a', 'key_c']);
        assert.deepEqual(ids(await store.listKeys({ tag: 'prod', limit: 2 })), ['key_a', 'key_d']);
        assert.deepEqual(ids(await store.listKeys({ tag: 'prod', after: 'key_a', limit: 1 })), ['key_d']);
        assert.deepEqual(ids(await store.listKeys({ tag: 'prod', after: 'key_e' })), []);
        assert.deepEqual(await store.listKeys({ tag: 'nobody' }), []);
        // A tag given twice is kept as given on the record, and lists the key once.
        await store.createKey(newKey('key_f', { tags: ['twice', 'twice'] }), t0, by);
        assert.deepEqual(ids(await store.listKeys({ tag: 'twice' })), ['key_f']);
        assert.deepEqual((await store.getKeyById('key_f'))?.tags, ['twice', 'twice']);
        // A record listed by tag is the whole record, tags included.
        const [first] = await store.listKeys({ tag: 'eu' });
        assert.deepEqual(first?.tags, ['prod', 'eu']);
      });

      it('returns 100 keys by default and at most 1000', async () => {
        const all = Array.from({ length: 1001 }, (_, i) => `key_${String(i).padStart(4, '0')}`);
        for (const id of all) await store.createKey(newKey(id), t0, by);
        assert.deepEqual(ids(await store.listKeys()), all.slice(0, 100));
        const capped = await store.listKeys({ limit: 5000 });
        assert.deepEqual(ids(capped), all.slice(0, 1000));
        assert.deepEqual(ids(await store.listKeys({ limit: 5000, after: capped.at(-1)!.id })), all.slice(1000));
      });
    });

    describe('quota usage', () => {
      const period = t0 - (t0 % day);

      it('has no counter for a key that was never counted', async () => {
        await store.createKey(newKey('key_a', { quota: '10/day' }), t0, by);
        assert.equal(await store.getQuotaUsage('key_a'), null);
        assert.deepEqual(await store.addQuotaUsage([]), []);
      });

      it('adds counts within a period and returns the totals', async () => {
        await store.createKey(newKey('key_a'), t0, by);
        await store.createKey(newKey('key_b'), t0, by);
        assert.deepEqual(await store.addQuotaUsage([
          { keyId: 'key_a', periodStart: period, used: 3 },
          { keyId: 'key_b', periodStart: period, used: 1 },
        ]), [
          { keyId: 'key_a', periodStart: period, used: 3 },
          { keyId: 'key_b', periodStart: period, used: 1 },
        ]);
        // A second node's batch adds to the first's.
        assert.deepEqual(await store.addQuotaUsage([{ keyId: 'key_a', periodStart: period, used: 4 }]), [
          { keyId: 'key_a', periodStart: period, used: 7 },
        ]);
        assert.deepEqual(await store.getQuotaUsage('key_a'), { keyId: 'key_a', periodStart: period, used: 7 });
        assert.deepEqual(await store.getQuotaUsage('key_b'), { keyId: 'key_b', periodStart: period, used: 1 });
      });

      it('starts over in a newer period and ignores late counts for an older one', async () => {
        await store.createKey(newKey('key_a'), t0, by);
        await store.addQuotaUsage([{ keyId: 'key_a', periodStart: period, used: 9 }]);
        const next = period + day;
        assert.deepEqual(await store.addQuotaUsage([{ keyId: 'key_a', periodStart: next, used: 2 }]), [
          { keyId: 'key_a', periodStart: next, used: 2 },
        ]);
        // A slow node flushes yesterday's count after today's: today's counter stands.
        assert.deepEqual(await store.addQuotaUsage([{ keyId: 'key_a', periodStart: period, used: 5 }]), [
          { keyId: 'key_a', periodStart: next, used: 2 },
        ]);
        assert.deepEqual(await store.getQuotaUsage('key_a'), { keyId: 'key_a', periodStart: next, used: 2 });
      });

      it('sums counts for one key within one batch, and skips unknown keys', async () => {
        await store.createKey(newKey('key_a'), t0, by);
        const totals = await store.addQuotaUsage([
          { keyId: 'key_a', periodStart: period, used: 1 },
          { keyId: 'key_missing', periodStart: period, used: 5 },
          { keyId: 'key_a', periodStart: period, used: 2 },
        ]);
        assert.deepEqual(totals.at(-1), { keyId: 'key_a', periodStart: period, used: 3 });
        assert.ok(totals.every((total) => total.keyId === 'key_a'));
        assert.equal(await store.getQuotaUsage('key_missing'), null);
        assert.equal(await store.getKeyById('key_missing'), null);
      });

      it('adds concurrent batches without losing any', async () => {
        await store.createKey(newKey('key_a'), t0, by);
        await Promise.all(Array.from({ length: 20 }, () => store.addQuotaUsage([{ keyId: 'key_a', periodStart: period, used: 5 }])));
        assert.equal((await store.getQuotaUsage('key_a'))?.used, 100);
      });

      it('counts large numbers exactly and writes no change-log event', async () => {
        await store.createKey(newKey('key_a'), t0, by);
        const seq = await store.latestEventSeq();
        await store.addQuotaUsage([{ keyId: 'key_a', periodStart: period, used: 3_000_000_000 }]);
        await store.addQuotaUsage([{ keyId: 'key_a', periodStart: period, used: 1 }]);
        assert.equal((await store.getQuotaUsage('key_a'))?.used, 3_000_000_001);
        assert.equal(await store.latestEventSeq(), seq);
      });
    });

    describe('revokeKey', () => {
      it('records the time and reason and appends a revoked event', async () => {
        const key = newKey('key_a', { tags: ['prod'] });
        await store.createKey(key, t0, by);
        const expected: KeyRecord = {
          ...createdRecord(key, t0),
          revokedAt: t0 + minute,
          revokedReason: 'leaked in a log',
          updatedAt: t0 + minute,
        };
        assert.deepEqual(await store.revokeKey('key_a', 'leaked in a log', t0 + minute, by), expected);
        assert.deepEqual(await store.getKeyById('key_a'), expected);
        assert.deepEqual(await store.listKeys({ tag: 'prod' }), [expected]);
        assert.deepEqual(await eventLog(store), [
          { keyId: 'key_a', kind: 'created', at: t0 },
          { keyId: 'key_a', kind: 'revoked', at: t0 + minute },
        ]);
      });

      it('accepts a null reason', async () => {
        await store.createKey(newKey('key_a'), t0, by);
        const revoked = await store.revokeKey('key_a', null, t0 + 1, by);
        assert.equal(revoked?.revokedAt, t0 + 1);
        assert.equal(revoked?.revokedReason, null);
      });

      it('changes nothing the second time and appends no event', async () => {
        await store.createKey(newKey('key_a'), t0, by);
        const first = await store.revokeKey('key_a', 'first', t0 + minute, by);
        const seq = await store.latestEventSeq();
        const second = await store.revokeKey('key_a', 'second', t0 + 2 * minute, by);
        assert.deepEqual(second, first);
        assert.deepEqual(await store.getKeyById('key_a'), first);
        assert.equal(await store.latestEventSeq(), seq);
      });

      it('answers null for an unknown key and appends no event', async () => {
        assert.equal(await store.revokeKey('key_missing', 'why', t0, by), null);
        assert.equal(await store.latestEventSeq(), 0);
      });
    });

    describe('quarantineKey and releaseKey', () => {
      it('quarantines with time and reason, releases, and appends one event each', async () => {
        const key = newKey('key_a', { tags: ['prod'] });
        await store.createKey(key, t0, by);
        const quarantined: KeyRecord = { ...createdRecord(key, t0), quarantinedAt: t0 + minute, quarantinedReason: 'found in a gist', updatedAt: t0 + minute };
        assert.deepEqual(await store.quarantineKey('key_a', 'found in a gist', t0 + minute, by, { source: 'gist', url: 'https://gist.github.com/x' }), quarantined);
        assert.deepEqual(await store.getKeyById('key_a'), quarantined);
        assert.deepEqual(await store.getKeyByDigest(key.digest), quarantined);
        assert.deepEqual(await store.listKeys({ tag: 'prod' }), [quarantined]);
        const released: KeyRecord = { ...quarantined, quarantinedAt: null, quarantinedReason: null, updatedAt: t0 + 2 * minute };
        assert.deepEqual(await store.releaseKey('key_a', 'false alarm', t0 + 2 * minute, by), released);
        assert.deepEqual(await store.getKeyById('key_a'), released);
        assert.deepEqual(await eventLog(store), [
          { keyId: 'key_a', kind: 'created', at: t0 },
          { keyId: 'key_a', kind: 'quarantined', at: t0 + minute },
          { keyId: 'key_a', kind: 'released', at: t0 + 2 * minute },
        ]);
      });

      it('keeps the first quarantine, leaves a revoked key and an unquarantined one alone, without events', async () => {
        await store.createKey(newKey('key_a'), t0, by);
        await store.createKey(newKey('key_b'), t0, by);
        const first = await store.quarantineKey('key_a', 'first', t0 + minute, by);
        const seq = await store.latestEventSeq();
        assert.deepEqual(await store.quarantineKey('key_a', 'second', t0 + 2 * minute, by), first);
        const notHeld = await store.getKeyById('key_b');
        assert.deepEqual(await store.releaseKey('key_b', null, t0 + 2 * minute, by), notHeld);
        assert.equal(await store.latestEventSeq(), seq);
        const revoked = await store.revokeKey('key_b', 'leaked', t0 + 3 * minute, by);
        assert.deepEqual(await store.quarantineKey('key_b', 'late report', t0 + 4 * minute, by), revoked);
        assert.equal(revoked?.quarantinedAt, null);
        assert.equal(await store.latestEventSeq(), seq + 1);
      });

      it('keeps a quarantine through a revocation (revoked wins) and answers null for an unknown key', async () => {
        await store.createKey(newKey('key_a'), t0, by);
        await store.quarantineKey('key_a', 'held', t0 + 1, by);
        const revoked = await store.revokeKey('key_a', 'confirmed', t0 + 2, by);
        assert.equal(revoked?.revokedAt, t0 + 2);
        assert.equal(revoked?.quarantinedAt, t0 + 1);
        assert.equal(await store.quarantineKey('key_missing', 'why', t0, by), null);
        assert.equal(await store.releaseKey('key_missing', null, t0, by), null);
      });
    });

    describe('revokeKeysByTag', () => {
      it('revokes only the unrevoked keys with the tag, one event each', async () => {
        await store.createKey(newKey('key_a', { tags: ['x'] }), t0, by);
        await store.createKey(newKey('key_b', { tags: ['y', 'x'] }), t0, by);
        await store.createKey(newKey('key_c', { tags: ['y'] }), t0, by);
        await store.createKey(newKey('key_d', { tags: ['x'] }), t0, by);
        await store.createKey(newKey('key_e'), t0, by);
        await store.revokeKey('key_d', 'earlier', t0 + minute, by);
        const seq = await store.latestEventSeq();

        const revoked = await store.revokeKeysByTag('x', 'incident 42', t0 + 2 * minute, by);

        assert.deepEqual(ids(revoked).sort(), ['key_a', 'key_b']);
        for (const record of revoked) {
          assert.equal(record.revokedAt, t0 + 2 * minute);
          assert.equal(record.revokedReason, 'incident 42');
          assert.equal(record.updatedAt, t0 + 2 * minute);
          assert.deepEqual(await store.getKeyById(record.id), record);
        }
        assert.equal((await store.getKeyById('key_c'))?.revokedAt, null);
        assert.equal((await store.getKeyById('key_e'))?.revokedAt, null);
        const earlier = await store.getKeyById('key_d');
        assert.equal(earlier?.revokedAt, t0 + minute);
        assert.equal(earlier?.revokedReason, 'earlier');

        const events = await store.eventsSince(seq, 100);
        assert.deepEqual(events.map((event) => event.keyId).sort(), ['key_a', 'key_b']);
        for (const event of events) {
          assert.equal(event.kind, 'revoked');
          assert.equal(event.at, t0 + 2 * minute);
        }
      });

      it('revokes nothing the second time', async () => {
        await store.createKey(newKey('key_a', { tags: ['x'] }), t0, by);
        await store.revokeKeysByTag('x', null, t0 + 1, by);
        const seq = await store.latestEventSeq();
        assert.deepEqual(await store.revokeKeysByTag('x', null, t0 + 2, by), []);
        assert.equal((await store.getKeyById('key_a'))?.revokedAt, t0 + 1);
        assert.equal(await store.latestEventSeq(), seq);
      });

      it('revokes nothing for an unknown tag', async () => {
        await store.createKey(newKey('key_a', { tags: ['x'] }), t0, by);
        assert.deepEqual(await store.revokeKeysByTag('nobody', null, t0 + 1, by), []);
        assert.equal((await allEvents(store)).length, 1);
      });
    });

    describe('rotateKey', () => {
      const settings = {
        name: 'billing-service',
        tags: ['prod', 'billing'],
        scopes: ['invoices:read'],
        allowedCidrs: ['192.0.2.0/24'],
        certFingerprint: 'cd'.repeat(32),
        rateLimit: '50/s',
        quota: '300000/month',
        metadata: { owner: 'team-billing', nested: { n: 1 } },
        expiresAt: t0 + 90 * day,
      };

      it('issues a key with every setting of the old one and sets the grace expiry', async () => {
        const old = newKey('key_old', settings);
        await store.createKey(old, t0, by);
        const replacement = replacementFor('key_new');
        const now = t0 + day;
        const graceEndsAt = now + 60 * minute;

        const result = await store.rotateKey('key_old', replacement, graceEndsAt, now, by);

        const expectedNew: KeyRecord = createdRecord({ ...settings, ...replacement }, now);
        const expectedOld: KeyRecord = {
          ...createdRecord(old, t0),
          expiresAt: graceEndsAt,
          rotatedTo: 'key_new',
          updatedAt: now,
        };
        assert.deepEqual(result, { oldKey: expectedOld, newKey: expectedNew });
        assert.deepEqual(await store.getKeyById('key_old'), expectedOld);
        assert.deepEqual(await store.getKeyById('key_new'), expectedNew);
        assert.deepEqual(await store.getKeyByDigest(replacement.digest), expectedNew);
        assert.deepEqual(ids(await store.listKeys({ tag: 'billing' })), ['key_new', 'key_old']);
      });

      it('appends created for the new key, then rotated for the old one', async () => {
        await store.createKey(newKey('key_old', settings), t0, by);
        const seq = await store.latestEventSeq();
        await store.rotateKey('key_old', replacementFor('key_new'), t0 + 2 * day, t0 + day, by);
        const events = await store.eventsSince(seq, 100);
        assert.deepEqual(events.map(({ keyId, kind, at }) => ({ keyId, kind, at })), [
          { keyId: 'key_new', kind: 'created', at: t0 + day },
          { keyId: 'key_old', kind: 'rotated', at: t0 + day },
        ]);
        assertStrictlyIncreasing(events);
      });

      it('keeps an old expiry that comes before the end of the grace period', async () => {
        await store.createKey(newKey('key_old', { expiresAt: t0 + 10 * minute }), t0, by);
        const result = await store.rotateKey('key_old', replacementFor('key_new'), t0 + day, t0 + minute, by);
        assert.equal(result?.oldKey.expiresAt, t0 + 10 * minute);
        // The new key copies the old key's own expiry, not the grace period.
        assert.equal(result?.newKey.expiresAt, t0 + 10 * minute);
      });

      it('makes a key without expiry expire at the end of the grace period', async () => {
        await store.createKey(newKey('key_old'), t0, by);
        const result = await store.rotateKey('key_old', replacementFor('key_new'), t0 + day, t0 + minute, by);
        assert.equal(result?.oldKey.expiresAt, t0 + day);
        assert.equal(result?.newKey.expiresAt, null);
      });

      it('answers null for an unknown key and writes nothing', async () => {
        assert.equal(await store.rotateKey('key_missing', replacementFor('key_new'), t0 + day, t0, by), null);
        assert.equal(await store.getKeyById('key_new'), null);
        assert.equal(await store.latestEventSeq(), 0);
      });

      it('refuses a revoked key and writes nothing', async () => {
        await store.createKey(newKey('key_old'), t0, by);
        const revoked = await store.revokeKey('key_old', 'leaked', t0 + 1, by);
        const seq = await store.latestEventSeq();
        await assert.rejects(store.rotateKey('key_old', replacementFor('key_new'), t0 + day, t0 + 2, by), /revoked/);
        assert.equal(await store.getKeyById('key_new'), null);
        assert.deepEqual(await store.getKeyById('key_old'), revoked);
        assert.equal(await store.latestEventSeq(), seq);
      });

      it('refuses a key that was already rotated, or has expired', async () => {
        await store.createKey(newKey('key_old'), t0, by);
        await store.createKey(newKey('key_gone', { expiresAt: t0 + minute }), t0, by);
        await store.rotateKey('key_old', replacementFor('key_new'), t0 + day, t0 + 1, by);
        const seq = await store.latestEventSeq();
        await assert.rejects(store.rotateKey('key_old', replacementFor('key_newer'), t0 + day, t0 + 2, by), /rotated/);
        await assert.rejects(store.rotateKey('key_gone', replacementFor('key_newer'), t0 + day, t0 + minute, by), /expired/);
        assert.equal(await store.getKeyById('key_newer'), null);
        assert.equal(await store.latestEventSeq(), seq);
      });

      it('writes nothing when the replacement cannot be stored', async () => {
        const old = newKey('key_old', settings);
        const other = newKey('key_other');
        await store.createKey(old, t0, by);
        await store.createKey(other, t0, by);
        const seq = await store.latestEventSeq();
        const clash = { ...replacementFor('key_new'), digest: other.digest };
        await assert.rejects(store.rotateKey('key_old', clash, t0 + day, t0 + minute, by));
        assert.deepEqual(await store.getKeyById('key_old'), createdRecord(old, t0));
        assert.equal(await store.getKeyById('key_new'), null);
        assert.equal(await store.latestEventSeq(), seq);
      });
    });

    describe('updateKey', () => {
      it('changes the given settings only, and appends one updated event', async () => {
        const key = newKey('key_a', { tags: ['old', 'kept'], metadata: { team: 'a' }, rateLimit: '10/s' });
        await store.createKey(key, t0, by);
        const seq = await store.latestEventSeq();
        const updated = await store.updateKey('key_a', { name: 'renamed', tags: ['kept', 'new'], expiresAt: t0 + day }, t0 + minute, by);
        const expected: KeyRecord = { ...createdRecord(key, t0), name: 'renamed', tags: ['kept', 'new'], expiresAt: t0 + day, updatedAt: t0 + minute };
        assert.deepEqual(updated, expected);
        assert.deepEqual(await store.getKeyById('key_a'), expected);
        assert.deepEqual(ids(await store.listKeys({ tag: 'new' })), ['key_a']);
        assert.deepEqual(await store.listKeys({ tag: 'old' }), []);
        assert.deepEqual(ids(await store.listKeys({ tag: 'kept' })), ['key_a']);
        assert.deepEqual((await store.eventsSince(seq, 10)).map(({ keyId, kind, at }) => ({ keyId, kind, at })), [
          { keyId: 'key_a', kind: 'updated', at: t0 + minute },
        ]);
      });

      it('can clear nullable settings', async () => {
        await store.createKey(newKey('key_a', { expiresAt: t0 + day, certFingerprint: 'ab'.repeat(32) }), t0, by);
        const updated = await store.updateKey('key_a', { expiresAt: null, certFingerprint: null }, t0 + 1, by);
        assert.equal(updated?.expiresAt, null);
        assert.equal(updated?.certFingerprint, null);
      });

      it('binds, keeps and clears a signing key (rotation copies it)', async () => {
        const pem = '-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAJrQLj5P/89iXES9+vFgrIy29clF9CC/oPPsw3c5D0bs=\n-----END PUBLIC KEY-----\n';
        assert.equal((await store.createKey(newKey('key_a'), t0, by)).signingKey, null);
        assert.equal((await store.updateKey('key_a', { signingKey: pem }, t0 + 1, by))?.signingKey, pem);
        assert.equal((await store.getKeyById('key_a'))?.signingKey, pem);
        const rotated = await store.rotateKey('key_a', replacementFor('key_b'), t0 + day, t0 + 2, by);
        assert.equal(rotated?.newKey.signingKey, pem);
        assert.equal((await store.updateKey('key_a', { signingKey: null }, t0 + 3, by))?.signingKey, null);
      });

      it('keeps, changes and clears the APIs a key belongs to (every API when empty; rotation copies them)', async () => {
        assert.deepEqual((await store.createKey(newKey('key_a'), t0, by)).apis, [], 'a key made without APIs: every API');
        assert.deepEqual((await store.createKey(newKey('key_b', { apis: ['orders', 'billing'] }), t0, by)).apis, ['orders', 'billing']);
        assert.deepEqual((await store.getKeyById('key_b'))?.apis, ['orders', 'billing'], 'in the stored order');
        assert.deepEqual((await store.updateKey('key_a', { apis: ['reports'] }, t0 + 1, by))?.apis, ['reports']);
        assert.deepEqual((await store.getKeyById('key_a'))?.apis, ['reports']);
        const rotated = await store.rotateKey('key_a', replacementFor('key_c'), t0 + day, t0 + 2, by);
        assert.deepEqual(rotated?.newKey.apis, ['reports']);
        assert.deepEqual((await store.updateKey('key_b', { apis: [] }, t0 + 3, by))?.apis, []);
      });

      it('keeps, changes and clears a key\'s own leak action (an updated event for the change feed; rotation copies it)', async () => {
        assert.equal((await store.createKey(newKey('key_a'), t0, by)).leakAction, null, 'a key made without one inherits');
        assert.equal((await store.createKey(newKey('key_b', { leakAction: 'notify' }), t0, by)).leakAction, 'notify');
        assert.equal((await store.getKeyById('key_b'))?.leakAction, 'notify');
        const seq = await store.latestEventSeq();
        assert.equal((await store.updateKey('key_a', { leakAction: 'revoke' }, t0 + 1, by))?.leakAction, 'revoke');
        const events = await store.eventsSince(seq, 10);
        assert.deepEqual(events.map((event) => [event.keyId, event.kind]), [['key_a', 'updated']], 'the change reaches every node through the feed');
        const digest = (await store.getKeyById('key_a'))?.digest as string;
        assert.equal((await store.getKeyByDigest(digest))?.leakAction, 'revoke', 'as the gateway reads it');
        const rotated = await store.rotateKey('key_a', replacementFor('key_c'), t0 + day, t0 + 2, by);
        assert.equal(rotated?.newKey.leakAction, 'revoke');
        assert.equal((await store.updateKey('key_a', { leakAction: null }, t0 + 3, by))?.leakAction, null);
        await assert.rejects(store.updateKey('key_b', { leakAction: 'delete' as never }, t0 + 4, by), /leakAction/);
        assert.equal((await store.getKeyById('key_b'))?.leakAction, 'notify', 'a refused value writes nothing');
      });

      it('writes nothing when nothing changes, and answers null for an unknown key', async () => {
        const key = newKey('key_a', { tags: ['x'] });
        await store.createKey(key, t0, by);
        const seq = await store.latestEventSeq();
        assert.deepEqual(await store.updateKey('key_a', { tags: ['x'], name: key.name }, t0 + 1, by), createdRecord(key, t0));
        assert.equal(await store.updateKey('key_missing', { name: 'n' }, t0 + 1, by), null);
        assert.equal(await store.latestEventSeq(), seq);
      });
    });

    describe('recordUsage', () => {
      it('records the last use without an event or a settings change', async () => {
        const key = newKey('key_a');
        await store.createKey(key, t0, by);
        await store.recordUsage([{ keyId: 'key_a', lastUsedAt: t0 + minute, lastUsedAddress: '192.0.2.7' }]);
        assert.deepEqual(await store.getKeyById('key_a'), {
          ...createdRecord(key, t0),
          lastUsedAt: t0 + minute,
          lastUsedAddress: '192.0.2.7',
        });
        assert.equal((await allEvents(store)).length, 1);
      });

      it('keeps the newest time and its address, whatever the order of arrival', async () => {
        await store.createKey(newKey('key_a'), t0, by);
        await store.createKey(newKey('key_b'), t0, by);
        await store.recordUsage([
          { keyId: 'key_a', lastUsedAt: t0 + 3 * minute, lastUsedAddress: '2001:db8::3' },
          { keyId: 'key_b', lastUsedAt: t0 + minute, lastUsedAddress: '198.51.100.1' },
          { keyId: 'key_a', lastUsedAt: t0 + 2 * minute, lastUsedAddress: '2001:db8::2' },
        ]);
        // A late batch from a slower node carries an older time: it must not win.
        await store.recordUsage([{ keyId: 'key_a', lastUsedAt: t0 + minute, lastUsedAddress: '2001:db8::1' }]);
        let a = await store.getKeyById('key_a');
        assert.deepEqual([a?.lastUsedAt, a?.lastUsedAddress], [t0 + 3 * minute, '2001:db8::3']);
        const b = await store.getKeyById('key_b');
        assert.deepEqual([b?.lastUsedAt, b?.lastUsedAddress], [t0 + minute, '198.51.100.1']);

        await store.recordUsage([{ keyId: 'key_a', lastUsedAt: t0 + 4 * minute, lastUsedAddress: '2001:db8::4' }]);
        a = await store.getKeyById('key_a');
        assert.deepEqual([a?.lastUsedAt, a?.lastUsedAddress], [t0 + 4 * minute, '2001:db8::4']);
      });

      it('ignores unknown keys and empty batches', async () => {
        await store.createKey(newKey('key_a'), t0, by);
        await store.recordUsage([]);
        await store.recordUsage([
          { keyId: 'key_missing', lastUsedAt: t0, lastUsedAddress: '192.0.2.1' },
          { keyId: 'key_a', lastUsedAt: t0 + 1, lastUsedAddress: '192.0.2.2' },
        ]);
        assert.equal(await store.getKeyById('key_missing'), null);
        assert.equal((await store.getKeyById('key_a'))?.lastUsedAddress, '192.0.2.2');
      });

      it('lists the used, unrevoked keys most recently used first (recentlyUsedKeys), as full records', async () => {
        for (const id of ['key_a', 'key_b', 'key_c', 'key_revoked', 'key_unused']) await store.createKey(newKey(id), t0, by);
        await store.recordUsage([
          { keyId: 'key_b', lastUsedAt: t0 + 3 * minute, lastUsedAddress: '192.0.2.3' },
          { keyId: 'key_a', lastUsedAt: t0 + minute, lastUsedAddress: '192.0.2.1' },
          { keyId: 'key_c', lastUsedAt: t0 + 2 * minute, lastUsedAddress: '192.0.2.2' },
          { keyId: 'key_revoked', lastUsedAt: t0 + 4 * minute, lastUsedAddress: '192.0.2.4' },
        ]);
        await store.revokeKey('key_revoked', null, t0 + 5 * minute, by);
        assert.deepEqual((await store.recentlyUsedKeys(10)).map((record) => record.id), ['key_b', 'key_c', 'key_a']);
        const [first] = await store.recentlyUsedKeys(1);
        assert.deepEqual(first, await store.getKeyById('key_b'));
      });
    });

    describe('eventsSince and latestEventSeq', () => {
      async function makeHistory(): Promise<void> {
        await store.createKey(newKey('key_a', { tags: ['t'] }), t0, by);
        await store.createKey(newKey('key_b', { tags: ['t'] }), t0 + 1, by);
        await store.revokeKey('key_a', null, t0 + 2, by);
        await store.rotateKey('key_b', replacementFor('key_c'), t0 + day, t0 + 3, by);
        await store.revokeKeysByTag('t', null, t0 + 4, by);
      }

      it('lists every change in order with a strictly increasing seq', async () => {
        await makeHistory();
        const log = await eventLog(store);
        assert.deepEqual(log.slice(0, 5), [
          { keyId: 'key_a', kind: 'created', at: t0 },
          { keyId: 'key_b', kind: 'created', at: t0 + 1 },
          { keyId: 'key_a', kind: 'revoked', at: t0 + 2 },
          { keyId: 'key_c', kind: 'created', at: t0 + 3 },
          { keyId: 'key_b', kind: 'rotated', at: t0 + 3 },
        ]);
        // key_b and key_c both carry the tag (key_a was revoked already); their order is not part of the contract.
        assert.deepEqual(log.slice(5).sort((x, y) => x.keyId.localeCompare(y.keyId)), [
          { keyId: 'key_b', kind: 'revoked', at: t0 + 4 },
          { keyId: 'key_c', kind: 'revoked', at: t0 + 4 },
        ]);
        const events = await allEvents(store);
        assertStrictlyIncreasing(events);
        assert.equal(await store.latestEventSeq(), events.at(-1)!.seq);
      });

      it('returns only events after the given seq, at most limit of them', async () => {
        await makeHistory();
        const events = await allEvents(store);
        assert.deepEqual(await store.eventsSince(events[2]!.seq, 100), events.slice(3));
        assert.deepEqual(await store.eventsSince(events[2]!.seq, 2), events.slice(3, 5));
        assert.deepEqual(await store.eventsSince(events.at(-1)!.seq, 100), []);

        const followed: KeyEvent[] = [];
        let cursor = 0;
        for (;;) {
          const page = await store.eventsSince(cursor, 2);
          if (page.length === 0) break;
          followed.push(...page);
          cursor = page.at(-1)!.seq;
        }
        assert.deepEqual(followed, events);
      });

      it('logs each of many concurrent changes exactly once', async () => {
        const count = 20;
        const keyIds = Array.from({ length: count }, (_, i) => `key_${String(i).padStart(2, '0')}`);
        await Promise.all(keyIds.map((id) => store.createKey(newKey(id, { tags: ['burst'] }), t0, by)));
        await Promise.all([
          ...keyIds.slice(0, count / 2).map((id) => store.revokeKey(id, 'concurrent', t0 + 1, by)),
          store.revokeKeysByTag('burst', 'sweep', t0 + 2, by),
        ]);
        const events = await allEvents(store);
        assertStrictlyIncreasing(events);
        assert.equal(events.length, 2 * count);
        for (const id of keyIds) {
          assert.deepEqual(events.filter((e) => e.keyId === id).map((e) => e.kind), ['created', 'revoked'], id);
        }
        // Every key is revoked once, and its record agrees with the one event.
        for (const key of await store.listKeys({ tag: 'burst' })) {
          const revokedEvent = events.find((e) => e.keyId === key.id && e.kind === 'revoked');
          assert.equal(key.revokedAt, revokedEvent?.at, key.id);
        }
      });
    });
  });
}
