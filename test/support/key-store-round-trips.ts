/**
 * Part of the shared `KeyStore` suite (key-store-suite.ts runs it): every column a key store
 * writes, written with realistic and extreme values (stored-value-samples.ts) and read back
 * through every method that returns it. Times come with fractions of a millisecond, as the
 * request clock gives them, and are stored floored; values a store cannot keep exactly are
 * refused, the same way by every store, and leave nothing behind.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KeyRecord } from '../../src/keys/key-record.ts';
import type { AuditActor } from '../../src/store/audit-log.ts';
import type { KeyStore, NewKey } from '../../src/store/key-store.ts';
import { ADDRESSES, asJson, fractional, MAX_EXACT, METADATA, nestedArrays, UNICODE_NAMES } from './stored-value-samples.ts';

const by: AuditActor = { actor: 'cli', address: null };
const t0 = 1_700_000_000_000;
const day = 86_400_000;

/** A key with every setting set, in unicode where the column is text. */
function fullKey(id: string, digest: string): NewKey {
  return {
    id,
    digest,
    displayPrefix: 'pcl_Zz9A',
    name: UNICODE_NAMES[0],
    tags: ['prod', 'équipe-北', UNICODE_NAMES[4]],
    scopes: ['orders:read', 'orders:*', '*', 'факт:write'],
    allowedCidrs: ['0.0.0.0/0', '::/0', '2001:db8::/128', '192.0.2.255/32'],
    certFingerprint: 'f'.repeat(64),
    signingKey: '-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAJrQLj5P/89iXES9+vFgrIy29clF9CC/oPPsw3c5D0bs=\n-----END PUBLIC KEY-----\n',
    leakAction: 'quarantine',
    rateLimit: '1000000/s burst 9007199254740991',
    quota: '9007199254740991/month',
    metadata: METADATA,
    expiresAt: fractional(t0 + 30 * day),
  };
}

/** What a store must return for `key` created at `now` (floored), before anything else happened to it. */
function created(key: NewKey, now: number): KeyRecord {
  const at = Math.floor(now);
  return {
    ...key,
    signingKey: key.signingKey ?? null,
    apis: key.apis ?? [],
    leakAction: key.leakAction ?? null,
    metadata: asJson(key.metadata),
    expiresAt: key.expiresAt === null ? null : Math.floor(key.expiresAt),
    createdAt: at,
    updatedAt: at,
    revokedAt: null,
    revokedReason: null,
    quarantinedAt: null,
    quarantinedReason: null,
    rotatedTo: null,
    lastUsedAt: null,
    lastUsedAddress: null,
  };
}

function digest(n: number): string {
  return n.toString(16).padStart(64, '0');
}

export function runKeyStoreRoundTrips(current: () => KeyStore): void {
  describe('every column round-trips', () => {
    it('keeps every setting of a key as written, in every method that returns it; a fractional time is floored', async () => {
      const store = current();
      const key = fullKey('key_full', digest(1));
      const expected = created(key, fractional(t0));
      assert.deepEqual(await store.createKey(key, fractional(t0), by), expected);
      assert.deepEqual(await store.getKeyById(key.id), expected);
      assert.deepEqual(await store.getKeyByDigest(key.digest), expected);
      assert.deepEqual(await store.getKeysByCertFingerprint(key.certFingerprint!), [expected]);
      for (const tag of key.tags) assert.deepEqual(await store.listKeys({ tag }), [expected], tag);
      assert.deepEqual(await store.listKeys(), [expected]);
      assert.deepEqual((await store.eventsSince(0, 10)).map(({ keyId, kind, at }) => ({ keyId, kind, at })), [{ keyId: key.id, kind: 'created', at: t0 }]);
    });

    it('keeps the ends of each type: times from 0 to 2^53 - 1, empty and very long text, no settings at all', async () => {
      const store = current();
      const sparse: NewKey = { ...fullKey('key_0', digest(2)), name: '', tags: [], scopes: [], allowedCidrs: [], certFingerprint: null, rateLimit: null, quota: null, metadata: {}, expiresAt: MAX_EXACT };
      const long: NewKey = { ...fullKey('key_long', digest(3)), name: UNICODE_NAMES[7], tags: [...UNICODE_NAMES.slice(0, 6).map((name) => `long ${name}`), '🔑'.repeat(128)], expiresAt: 0 };
      assert.deepEqual(await store.createKey(sparse, 0, by), created(sparse, 0));
      assert.deepEqual(await store.createKey(long, MAX_EXACT, by), created(long, MAX_EXACT));
      assert.deepEqual(await store.getKeyById('key_0'), created(sparse, 0));
      assert.deepEqual(await store.getKeyById('key_long'), created(long, MAX_EXACT));
      for (const [index, name] of UNICODE_NAMES.entries()) {
        const id = `key_n${index}`;
        // A tag is indexed, so it has a length limit of its own (256); a name has none.
        const tag = name.slice(0, 256);
        const record = await store.createKey({ ...sparse, id, digest: digest(100 + index), name, tags: [tag] }, t0, by);
        assert.equal(record.name, name);
        assert.deepEqual((await store.getKeyById(id))?.name, name);
        assert.deepEqual((await store.listKeys({ tag })).map((found) => found.id), [id]);
      }
    });

    it('floors the times of a revocation, a rotation and an update, and keeps their text', async () => {
      const store = current();
      const key = fullKey('key_a', digest(4));
      await store.createKey(key, fractional(t0), by);
      await store.createKey({ ...fullKey('key_b', digest(5)), tags: ['sweep'] }, t0, by);
      const revoked = await store.revokeKey('key_b', UNICODE_NAMES[3], fractional(t0 + 1), by);
      assert.deepEqual([revoked?.revokedAt, revoked?.updatedAt, revoked?.revokedReason], [t0 + 1, t0 + 1, UNICODE_NAMES[3]]);
      await store.createKey({ ...fullKey('key_c', digest(6)), tags: ['sweep'] }, t0, by);
      const [swept] = await store.revokeKeysByTag('sweep', UNICODE_NAMES[4], fractional(t0 + 2), by);
      assert.deepEqual([swept?.id, swept?.revokedAt, swept?.revokedReason], ['key_c', t0 + 2, UNICODE_NAMES[4]]);

      const rotation = await store.rotateKey('key_a', { id: 'key_a2', digest: digest(7), displayPrefix: 'pcl_Yy8B' }, fractional(t0 + 10), fractional(t0 + 3), by);
      assert.deepEqual(rotation?.oldKey, { ...created(key, t0), expiresAt: t0 + 10, updatedAt: t0 + 3, rotatedTo: 'key_a2' });
      assert.deepEqual(rotation?.newKey, { ...created(key, t0 + 3), id: 'key_a2', digest: digest(7), displayPrefix: 'pcl_Yy8B' });

      const changes = {
        name: UNICODE_NAMES[1], tags: ['新'], scopes: ['ü:read'], allowedCidrs: ['10.0.0.0/8'], certFingerprint: null,
        rateLimit: '1/s', quota: '1/day', metadata: { note: UNICODE_NAMES[6] }, expiresAt: fractional(t0 + day),
      };
      const updated = await store.updateKey('key_a2', changes, fractional(t0 + 4), by);
      const expected = { ...rotation!.newKey, ...changes, expiresAt: t0 + day, updatedAt: t0 + 4 };
      assert.deepEqual(updated, expected);
      assert.deepEqual(await store.getKeyById('key_a2'), expected);
      assert.deepEqual((await store.listKeys({ tag: '新' })).map((found) => found.id), ['key_a2']);
      assert.deepEqual((await store.eventsSince(0, 100)).map((event) => event.at), [t0, t0, t0 + 1, t0, t0 + 2, t0 + 3, t0 + 3, t0 + 4]);
    });

    it('records last use from fractional times and any address, up to the largest time', async () => {
      const store = current();
      await store.createKey(fullKey('key_a', digest(8)), t0, by);
      await store.createKey(fullKey('key_b', digest(9)), t0, by);
      await store.recordUsage([
        { keyId: 'key_a', lastUsedAt: fractional(t0 + 5), lastUsedAddress: ADDRESSES[0] },
        { keyId: 'key_b', lastUsedAt: MAX_EXACT, lastUsedAddress: ADDRESSES[2] },
      ]);
      const [a, b] = [await store.getKeyById('key_a'), await store.getKeyById('key_b')];
      assert.deepEqual([a?.lastUsedAt, a?.lastUsedAddress], [t0 + 5, ADDRESSES[0]]);
      assert.deepEqual([b?.lastUsedAt, b?.lastUsedAddress], [MAX_EXACT, ADDRESSES[2]]);
      // A later use within the same millisecond is not newer: the first address stands.
      await store.recordUsage([{ keyId: 'key_a', lastUsedAt: t0 + 5.999, lastUsedAddress: ADDRESSES[1] }]);
      assert.equal((await store.getKeyById('key_a'))?.lastUsedAddress, ADDRESSES[0]);
      await store.recordUsage([{ keyId: 'key_a', lastUsedAt: t0 + 6, lastUsedAddress: ADDRESSES[3] }]);
      assert.deepEqual([(await store.getKeyById('key_a'))?.lastUsedAt, (await store.getKeyById('key_a'))?.lastUsedAddress], [t0 + 6, ADDRESSES[3]]);
    });

    it('counts quota up to 2^53 - 1 exactly, in a period given with a fraction', async () => {
      const store = current();
      await store.createKey(fullKey('key_a', digest(10)), t0, by);
      const period = t0 - (t0 % day);
      assert.deepEqual(await store.addQuotaUsage([{ keyId: 'key_a', periodStart: fractional(period), used: MAX_EXACT - 1 }]), [{ keyId: 'key_a', periodStart: period, used: MAX_EXACT - 1 }]);
      assert.deepEqual(await store.addQuotaUsage([{ keyId: 'key_a', periodStart: period, used: 1 }]), [{ keyId: 'key_a', periodStart: period, used: MAX_EXACT }]);
      assert.deepEqual(await store.getQuotaUsage('key_a'), { keyId: 'key_a', periodStart: period, used: MAX_EXACT });
      // One more would not be exact: refused, and the counter stays as it was.
      await assert.rejects(store.addQuotaUsage([{ keyId: 'key_a', periodStart: period, used: 1 }]), RangeError);
      assert.deepEqual(await store.getQuotaUsage('key_a'), { keyId: 'key_a', periodStart: period, used: MAX_EXACT });
    });

    it('refuses what it could not keep exactly, the same way in every store, writing nothing', async () => {
      const store = current();
      const refusals: Array<[string, () => Promise<unknown>]> = [
        ['U+0000 in a name', () => store.createKey({ ...fullKey('key_x', digest(20)), name: 'a\u0000b' }, t0, by)],
        ['U+0000 in a metadata key', () => store.createKey({ ...fullKey('key_x', digest(21)), metadata: { 'a\u0000': 1 } }, t0, by)],
        ['a lone surrogate in a tag', () => store.createKey({ ...fullKey('key_x', digest(22)), tags: ['\ud800'] }, t0, by)],
        ['a tag of 257 characters', () => store.createKey({ ...fullKey('key_x', digest(27)), tags: ['t'.repeat(257)] }, t0, by)],
        ['JSON nested 1001 levels', () => store.createKey({ ...fullKey('key_x', digest(23)), metadata: { deep: nestedArrays(1000) } }, t0, by)],
        ['metadata that is not an object', () => store.createKey({ ...fullKey('key_x', digest(24)), metadata: [] as unknown as Record<string, unknown> }, t0, by)],
        ['a time that is not a number', () => store.createKey(fullKey('key_x', digest(25)), Number.NaN, by)],
        ['a time past 2^53', () => store.createKey({ ...fullKey('key_x', digest(26)), expiresAt: 2 ** 60 }, t0, by)],
        ['U+0000 in a reason', () => store.revokeKey('key_ok', 'a\u0000', t0, by)],
        ['a fractional quota count', () => store.addQuotaUsage([{ keyId: 'key_ok', periodStart: t0, used: 1.5 }])],
        ['a quota count past 2^53', () => store.addQuotaUsage([{ keyId: 'key_ok', periodStart: t0, used: 2 ** 53 }])],
        ['a last use that is not a time', () => store.recordUsage([{ keyId: 'key_ok', lastUsedAt: Number.POSITIVE_INFINITY, lastUsedAddress: ADDRESSES[3] }])],
      ];
      await store.createKey(fullKey('key_ok', digest(30)), t0, by);
      const before = { seq: await store.latestEventSeq(), key: await store.getKeyById('key_ok') };
      for (const [what, write] of refusals) await assert.rejects(write(), RangeError, what);
      assert.equal(await store.getKeyById('key_x'), null);
      assert.equal(await store.latestEventSeq(), before.seq);
      assert.deepEqual(await store.getKeyById('key_ok'), before.key);
      assert.equal(await store.getQuotaUsage('key_ok'), null);
    });
  });
}
