import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fakeContext, fakeParts, recordingLogger, withHeadersRead, type FakeRequest } from '../../../test/support/fake-context.ts';
import { freshStorePerTest, temporarySqliteStore } from '../../../test/support/fresh-store.ts';
import { mintedKeyRow } from '../../../test/support/key-rows.ts';
import type { Denial } from '../../http/error-catalogue.ts';
import { createKeyParser, generateKey } from '../../keys/key-format.ts';
import type { KeyStore, NewKey } from '../../store/key-store.ts';
import { CLI_ACTOR } from '../../store/audit-log.ts';
import type { Store } from '../../store/store.ts';
import { ChangeFeedFollower } from '../../verify/change-feed-follower.ts';
import { KeyVerifier } from '../../verify/key-verifier.ts';
import { breakableStore } from '../../../test/support/breakable-store.ts';
import type { RequestContext } from '../request-context.ts';
import { createCertificateIdentity } from './certificate-identity.ts';
import { KeyAuthCheck, STORE_OUT_OF_REACH } from './key-auth-check.ts';
import { keyAuth } from './index.ts';

const KEY_HEADERS = ['authorization', 'x-api-key'];
const NOW = Date.parse('2026-12-01T12:00:00Z');
const CHALLENGE = [['www-authenticate', 'Bearer realm="portcullis"']];
const INVALID_TOKEN = [['www-authenticate', 'Bearer realm="portcullis", error="invalid_token"']];

/** A context for `request` after the engine's header pass, with the check's key headers read. */
function presenting(check: KeyAuthCheck, request: FakeRequest): RequestContext {
  return withHeadersRead(fakeContext(request), check.requestHeaders);
}

const bearer = (key: string) => ['Authorization', `Bearer ${key}`];

describe('key-auth check', () => {
  let store: KeyStore;
  freshStorePerTest(temporarySqliteStore, (fresh) => (store = fresh));

  async function createKey(settings: Partial<NewKey> = {}): Promise<{ key: string; id: string }> {
    const { key, row } = mintedKeyRow(settings);
    await store.createKey(row, NOW - 86_400_000, CLI_ACTOR);
    return { key, id: row.id };
  }

  function setUp(options: { queryParameter?: string | null; staleFor?: number; keyStore?: KeyStore } = {}) {
    const verifier = new KeyVerifier(options.keyStore ?? store, { maxKeys: 10, maxUnknown: 10, ...(options.staleFor === undefined ? {} : { staleFor: options.staleFor }) });
    const storeErrors: unknown[] = [];
    const check = new KeyAuthCheck({ parseKey: createKeyParser(['pcl']), acceptedPrefixes: ['pcl'], verifier, keyHeaders: KEY_HEADERS, queryParameter: options.queryParameter ?? null, onStoreError: (error) => storeErrors.push(error) });
    const run = async (request: FakeRequest) => {
      const context = presenting(check, request);
      const outcome = (await check.run(context)) as Denial | null;
      return { outcome, context };
    };
    /** Lookups the verifier answered, from memory or the store. */
    const lookups = () => verifier.stats.hits + verifier.stats.misses;
    return { check, verifier, run, lookups, storeErrors };
  }

  it('lets a live key through and puts it on the context', async () => {
    const { key, id } = await createKey();
    const { run } = setUp();
    for (const headers of [bearer(key), ['X-API-Key', key]]) {
      const { outcome, context } = await run({ headers });
      assert.equal(outcome, null);
      assert.equal(context.key?.record.id, id);
      assert.equal(context.presentedKey?.record.id, id);
    }
  });

  it('checks a key in any spelling a lenient server would read, and keeps that header from the upstream', async () => {
    const { key, id } = await createKey();
    const basic = (credentials: string) => `Basic ${Buffer.from(credentials).toString('base64')}`;
    const { run } = setUp();
    for (const value of [`Bearer\t${key}`, `bearer:  ${key}`, `Bearer${key}`, `Token ${key}`, key, basic(`${key}:`), basic(`user:${key}`)]) {
      const { outcome, context } = await run({ headers: ['Authorization', value, 'Accept', '*/*'] });
      assert.equal(outcome, null, value);
      assert.equal(context.key?.record.id, id);
      assert.deepEqual(context.upstreamHeaders, ['Accept', '*/*']);
    }
    const other = await createKey();
    assert.equal((await run({ headers: ['X-API-Key', key, 'Authorization', basic(`${other.key}:x`)] })).outcome?.code, 'key_ambiguous');
  });

  it('refuses a request without a key: 401 key_missing with a challenge', async () => {
    const { run, lookups } = setUp();
    const { outcome } = await run({ headers: ['Authorization', 'Basic dXNlcjpwYXNz'] });
    assert.equal(outcome?.code, 'key_missing');
    assert.equal(outcome?.status, 401);
    assert.deepEqual(outcome?.headers, CHALLENGE);
    assert.equal(lookups(), 0);
  });

  const malformed: Array<{ name: string; key: () => string }> = [
    { name: 'too short', key: () => 'pcl_not-a-key' },
    { name: 'a wrong checksum', key: () => { const key = generateKey('pcl'); return key.slice(0, -1) + (key.endsWith('A') ? 'B' : 'A'); } },
    { name: 'a prefix not accepted', key: () => generateKey('acme') },
    { name: 'a character outside base62', key: () => { const key = generateKey('pcl'); return `${key.slice(0, 10)}-${key.slice(11)}`; } },
  ];
  for (const { name, key } of malformed) {
    it(`refuses a malformed key (${name}) without any lookup`, async () => {
      const { run, lookups } = setUp();
      const { outcome, context } = await run({ headers: bearer(key()) });
      assert.equal(outcome?.code, 'key_invalid');
      assert.equal(outcome?.status, 401);
      assert.deepEqual(outcome?.headers, INVALID_TOKEN);
      assert.equal(lookups(), 0);
      assert.equal(context.presentedKey, null);
    });
  }

  it('refuses a well-formed key no record has, after one lookup, remembering it', async () => {
    const { run, verifier } = setUp();
    const stranger = generateKey('pcl');
    const first = await run({ headers: bearer(stranger) });
    assert.equal(first.outcome?.code, 'key_invalid');
    assert.deepEqual(first.outcome?.headers, INVALID_TOKEN);
    assert.equal(first.context.key, null);
    assert.equal(first.context.presentedKey, null);
    assert.equal((await run({ headers: bearer(stranger) })).outcome?.code, 'key_invalid');
    assert.deepEqual(verifier.stats, { hits: 1, misses: 1, knownKeys: 0, unknownDigests: 1 });
  });

  it('refuses a revoked key, keeping the key it presented for usage', async () => {
    const { key, id } = await createKey();
    await store.revokeKey(id, 'leaked', NOW - 1000, CLI_ACTOR);
    const { outcome, context } = await setUp().run({ headers: bearer(key) });
    assert.equal(outcome?.code, 'key_revoked');
    assert.equal(outcome?.status, 401);
    assert.deepEqual(outcome?.headers, INVALID_TOKEN);
    assert.equal(context.key, null);
    assert.equal(context.presentedKey?.record.id, id);
  });

  it('refuses a quarantined key with 403 key_quarantined and no challenge, and lets it through once released', async () => {
    const { key, id } = await createKey();
    await store.quarantineKey(id, 'found in a public gist', NOW - 1000, CLI_ACTOR);
    const { run, verifier } = setUp();
    const follower = new ChangeFeedFollower(store, verifier, { pollInterval: 3_600_000 });
    await follower.start();
    const { outcome, context } = await run({ headers: bearer(key) });
    assert.equal(outcome?.code, 'key_quarantined');
    assert.equal(outcome?.status, 403);
    assert.equal(outcome?.headers, undefined);
    assert.equal(context.key, null);
    assert.equal(context.presentedKey?.record.id, id);
    await store.releaseKey(id, 'false alarm', NOW - 500, CLI_ACTOR);
    assert.equal(await follower.pollOnce(), 1);
    assert.equal((await run({ headers: bearer(key) })).outcome, null, 'released: the cached record was replaced');
    await store.quarantineKey(id, 'again', NOW - 400, CLI_ACTOR);
    await store.revokeKey(id, 'leaked', NOW - 300, CLI_ACTOR);
    assert.equal(await follower.pollOnce(), 2);
    assert.equal((await run({ headers: bearer(key) })).outcome?.code, 'key_revoked', 'revocation wins over quarantine');
    await follower.stop();
  });

  it('keeps refusing a quarantined key from memory once the change feed has not reached the store for staleFor', async () => {
    const held = await createKey();
    await store.quarantineKey(held.id, 'suspected leak', NOW - 1000, CLI_ACTOR);
    const { run, verifier } = setUp({ staleFor: 30_000 });
    verifier.markSynchronised(NOW - 60_000);
    assert.equal((await run({ headers: bearer(held.key) })).outcome?.code, 'key_quarantined');
    assert.equal((await run({ headers: bearer(held.key) })).outcome?.code, 'key_quarantined', 'a refusal from memory still stands');
  });

  const expiries: Array<{ name: string; expiresAt: number; expected: 'key_expired' | null }> = [
    { name: 'expired a moment ago', expiresAt: NOW - 1, expected: 'key_expired' },
    { name: 'expiring at this very moment', expiresAt: NOW, expected: 'key_expired' },
    { name: 'expiring a moment from now', expiresAt: NOW + 1, expected: null },
  ];
  for (const { name, expiresAt, expected } of expiries) {
    it(`${expected === null ? 'lets through' : 'refuses'} a key ${name}`, async () => {
      const { key, id } = await createKey({ expiresAt });
      const { outcome, context } = await setUp().run({ headers: bearer(key) });
      assert.equal(outcome?.code ?? null, expected);
      assert.equal(context.presentedKey?.record.id, id);
      assert.equal(context.key?.record.id ?? null, expected === null ? id : null);
      if (expected !== null) assert.deepEqual(outcome?.headers, INVALID_TOKEN);
    });
  }

  it('refuses two different keys with 400 key_ambiguous, looking neither up', async () => {
    const one = await createKey();
    const two = await createKey();
    const { run, lookups } = setUp();
    const { outcome, context } = await run({ headers: [...bearer(one.key), 'X-API-Key', two.key] });
    assert.equal(outcome?.code, 'key_ambiguous');
    assert.equal(outcome?.status, 400);
    assert.equal(context.key, null);
    assert.equal(lookups(), 0);
  });

  it('answers 503 store_unavailable when the store cannot be read, and reports the error', async () => {
    const failure = new Error('connect ECONNREFUSED');
    const unreachable = { getKeyByDigest: () => Promise.reject(failure) } as unknown as KeyStore;
    const { run, storeErrors } = setUp({ keyStore: unreachable });
    const { outcome, context } = await run({ headers: bearer(generateKey('pcl')) });
    assert.equal(outcome?.code, 'store_unavailable');
    assert.equal(outcome?.status, 503);
    assert.deepEqual(outcome?.headers, [['retry-after', '5']]);
    assert.deepEqual(storeErrors, [failure]);
    assert.equal(context.key, null);
  });

  it('trusts memory only for refusals once the change feed has not reached the store for staleFor', async () => {
    const live = await createKey();
    const revoked = await createKey();
    await store.revokeKey(revoked.id, null, NOW - 1000, CLI_ACTOR);
    const { run, verifier } = setUp({ staleFor: 30_000 });
    verifier.markSynchronised(NOW - 60_000);
    assert.equal((await run({ headers: bearer(live.key) })).outcome, null, 'a fresh store read stands');
    const fromMemory = (await run({ headers: bearer(live.key) })).outcome;
    assert.equal(fromMemory?.code, 'store_unavailable');
    assert.equal(fromMemory?.detail, 'The key store has been unreachable for too long to trust cached keys; try again shortly.');
    await run({ headers: bearer(revoked.key) });
    assert.equal((await run({ headers: bearer(revoked.key) })).outcome?.code, 'key_revoked', 'a refusal from memory still stands');
  });

  describe('while the change feed cannot reach the store', () => {
    /** A check whose verifier is kept by a follower over a store the test can break. */
    function setUpOutage(options: { staleFor?: number; certificateIdentity?: boolean } = {}) {
      const breakable = breakableStore(store as Store);
      const verifier = new KeyVerifier(breakable.store, { maxKeys: 10, maxUnknown: 10, staleFor: options.staleFor ?? 3_600_000 });
      const follower = new ChangeFeedFollower(breakable.store, verifier, { pollInterval: 3_600_000 });
      const storeErrors: unknown[] = [];
      const check = new KeyAuthCheck({
        parseKey: createKeyParser(['pcl']), acceptedPrefixes: ['pcl'], verifier, keyHeaders: KEY_HEADERS, queryParameter: null,
        onStoreError: (error) => storeErrors.push(error),
        onMissingKey: options.certificateIdentity === true ? createCertificateIdentity(verifier, (error) => storeErrors.push(error)) : undefined,
      });
      const run = async (request: FakeRequest, now = Date.now()) => (await check.run(withHeadersRead(fakeContext(request, { now }), check.requestHeaders))) as Denial | null;
      /** The store goes away and the feed's next read fails. */
      const outage = async () => {
        breakable.break();
        await assert.rejects(follower.pollOnce());
      };
      /** The store is back and the feed reads it completely. */
      const recovery = async () => {
        breakable.repair();
        await follower.pollOnce();
      };
      return { run, verifier, follower, outage, recovery, storeErrors };
    }

    it('answers 503 for a digest it remembers as unknown (the key may have been created since), and 401 again once the store is back', async () => {
      const known = await createKey();
      const { run, follower, outage, recovery, verifier } = setUpOutage();
      await follower.start();
      const seenBefore = mintedKeyRow();
      const stranger = generateKey('pcl');
      assert.equal((await run({ headers: bearer(known.key) })), null);
      assert.equal((await run({ headers: bearer(seenBefore.key) }))?.code, 'key_invalid', 'remembered as unknown');
      assert.equal((await run({ headers: bearer(stranger) }))?.code, 'key_invalid');
      assert.equal(verifier.stats.unknownDigests, 2);

      await outage();
      assert.equal(verifier.storeReachable, false);
      const remembered = await run({ headers: bearer(seenBefore.key) });
      assert.deepEqual([remembered?.status, remembered?.code, remembered?.headers], [503, 'store_unavailable', [['retry-after', '5']]]);
      assert.equal((await run({ headers: bearer(generateKey('pcl')) }))?.code, 'store_unavailable', 'a key never seen: the lookup fails');
      assert.equal((await run({ headers: bearer(known.key) })), null, 'a known key is still served within staleFor');
      // Created on another node during the outage: this node cannot know yet.
      await store.createKey(seenBefore.row, Date.now(), CLI_ACTOR);
      assert.equal((await run({ headers: bearer(seenBefore.key) }))?.code, 'store_unavailable');
      assert.equal(verifier.stats.unknownDigests, 2, 'answered from memory, no store read');

      await recovery();
      assert.equal(verifier.storeReachable, true);
      assert.equal((await run({ headers: bearer(seenBefore.key) })), null, 'the key created meanwhile works');
      assert.equal((await run({ headers: bearer(stranger) }))?.code, 'key_invalid', 'a remembered unknown is invalid again');
      await follower.stop();
    });

    it('past staleFor, answers a remembered unknown with the stale 503, whether or not the feed has noticed the outage yet', async () => {
      const { run, follower, outage } = setUpOutage({ staleFor: 60_000 });
      await follower.start();
      const stranger = generateKey('pcl');
      assert.equal((await run({ headers: bearer(stranger) }))?.code, 'key_invalid');
      assert.equal((await run({ headers: bearer(stranger) }, Date.now() + 120_000))?.detail, STORE_OUT_OF_REACH.detail, 'past staleFor');
      await outage();
      assert.equal((await run({ headers: bearer(stranger) }))?.code, 'store_unavailable');
      assert.equal((await run({ headers: bearer(stranger) }, Date.now() + 120_000))?.detail, STORE_OUT_OF_REACH.detail);
      await follower.stop();
    });

    it('keeps a revoked key refused as revoked', async () => {
      const revoked = await createKey();
      await store.revokeKey(revoked.id, 'leaked', NOW, CLI_ACTOR);
      const { run, follower, outage } = setUpOutage();
      await follower.start();
      assert.equal((await run({ headers: bearer(revoked.key) }))?.code, 'key_revoked');
      await outage();
      assert.equal((await run({ headers: bearer(revoked.key) }))?.code, 'key_revoked');
    });

    it('with certificate identity, answers 503 for a certificate remembered as bound to no key', async () => {
      const { run, follower, outage, recovery } = setUpOutage({ certificateIdentity: true });
      await follower.start();
      const certified = { tls: { authorized: true, fingerprint256: 'CD:'.repeat(31) + 'CD' } };
      assert.equal((await run(certified))?.code, 'key_missing', 'looked up: no key is bound to it');
      assert.equal((await run(certified))?.code, 'key_missing', 'remembered');
      await outage();
      assert.equal((await run(certified))?.code, 'store_unavailable');
      await recovery();
      assert.equal((await run(certified))?.code, 'key_missing');
    });
  });

  describe('with the key in a query parameter (keys.queryParameter)', () => {
    it('accepts it and strips it from the target sent upstream', async () => {
      const { key, id } = await createKey();
      const { run } = setUp({ queryParameter: 'api_key' });
      const cases = [
        { url: `/orders?api_key=${key}&limit=5`, upstreamPath: '/orders?limit=5' },
        { url: `/orders?limit=5&api_key=${key}`, upstreamPath: '/orders?limit=5' },
        { url: `/orders?api_key=${key}`, upstreamPath: '/orders' },
      ];
      for (const { url, upstreamPath } of cases) {
        const { outcome, context } = await run({ url });
        assert.equal(outcome, null, url);
        assert.equal(context.key?.record.id, id);
        assert.equal(context.upstreamPath, upstreamPath);
      }
    });

    it('leaves the target alone when the key comes in a header', async () => {
      const { key } = await createKey();
      const { outcome, context } = await setUp({ queryParameter: 'api_key' }).run({ url: '/orders?limit=5&sort=-id', headers: bearer(key) });
      assert.equal(outcome, null);
      assert.equal(context.upstreamPath, '/orders?limit=5&sort=-id');
    });

    it('refuses a query key that differs from the header\'s, and accepts the same key in both', async () => {
      const one = await createKey();
      const two = await createKey();
      const { run } = setUp({ queryParameter: 'api_key' });
      assert.equal((await run({ url: `/orders?api_key=${two.key}`, headers: bearer(one.key) })).outcome?.code, 'key_ambiguous');
      assert.equal((await run({ url: `/orders?api_key=${one.key}&api_key=${two.key}` })).outcome?.code, 'key_ambiguous');
      assert.equal((await run({ url: `/orders?api_key=${one.key}`, headers: bearer(one.key) })).outcome, null);
    });

    it('ignores the parameter when keys.queryParameter is off', async () => {
      const { key } = await createKey();
      const { outcome, context } = await setUp({ queryParameter: null }).run({ url: `/orders?api_key=${key}` });
      assert.equal(outcome?.code, 'key_missing');
      assert.equal(context.upstreamPath, `/orders?api_key=${key}`);
    });

    it('forwards the rest of the query as the client sent it', async () => {
      const { key } = await createKey();
      const { outcome, context } = await setUp({ queryParameter: 'api_key' }).run({ url: `/search?api_key=${key}&flag&q=a%20b&tags=x,y` });
      assert.equal(outcome, null);
      assert.equal(context.upstreamPath, '/search?flag&q=a%20b&tags=x,y');
    });

    it('treats an empty parameter as no key, like an empty key header', async () => {
      const { outcome, context } = await setUp({ queryParameter: 'api_key' }).run({ url: '/orders?api_key=&limit=5' });
      assert.equal(outcome?.code, 'key_missing');
      assert.equal(context.upstreamPath, '/orders?limit=5', 'the parameter is removed whatever it held');
    });

    it('takes a header key next to an empty parameter', async () => {
      const { key, id } = await createKey();
      const { outcome, context } = await setUp({ queryParameter: 'api_key' }).run({ url: '/orders?api_key=', headers: bearer(key) });
      assert.equal(outcome, null);
      assert.equal(context.key?.record.id, id);
      assert.equal(context.upstreamPath, '/orders');
    });
  });

  describe('key-auth policy', () => {
    const config = (overrides: { acceptedPrefixes?: string[]; certificateIdentity?: boolean } = {}) => ({
      keys: { prefix: 'pcl', acceptedPrefixes: overrides.acceptedPrefixes ?? ['pcl'], headers: ['x-api-key'], queryParameter: null },
      cache: { maxVerifiedKeys: 10 },
      tls: overrides.certificateIdentity === undefined ? null : { certificateIdentity: overrides.certificateIdentity },
    });

    it('is always on, reading the configured headers and accepting the configured prefixes', async () => {
      const { key, row } = mintedKeyRow();
      const acme = generateKey('acme');
      await store.createKey(row, NOW, CLI_ACTOR);
      const verifier = new KeyVerifier(store, { maxKeys: 10, maxUnknown: 10 });
      const check = keyAuth.create(config({ acceptedPrefixes: ['acme'] }), fakeParts({ verifier })) as KeyAuthCheck;
      assert.equal(keyAuth.stage, 6);
      assert.deepEqual(check.requestHeaders.names, ['x-api-key']);
      assert.equal(((await check.run(presenting(check, { headers: ['X-API-Key', key] }))) as Denial | null)?.code, 'key_invalid', 'pcl is no longer accepted');
      assert.equal(verifier.stats.misses, 0, 'refused by format');
      assert.equal(((await check.run(presenting(check, { headers: ['X-API-Key', acme] }))) as Denial | null)?.code, 'key_invalid', 'acme is parsed, then not found');
      assert.equal(verifier.stats.misses, 1, 'looked up');
      assert.equal(((await check.run(presenting(check, { headers: bearer(key) }))) as Denial | null)?.code, 'key_missing', 'Authorization is not a key header here');
    });

    it('logs a store failure', async () => {
      const { logger, lines } = recordingLogger();
      const unreachable = { getKeyByDigest: () => Promise.reject(new Error('down')) } as unknown as KeyStore;
      const check = keyAuth.create(config(), fakeParts({ logger, verifier: new KeyVerifier(unreachable, { maxKeys: 10, maxUnknown: 10 }) })) as KeyAuthCheck;
      assert.equal(((await check.run(presenting(check, { headers: ['X-API-Key', generateKey('pcl')] }))) as Denial | null)?.code, 'store_unavailable');
      assert.deepEqual(lines.map(({ level, message }) => [level, message]), [['error', 'key store lookup failed']]);
    });

    it('with tls.certificateIdentity, authenticates a request without a key by its verified client certificate', async () => {
      const fingerprint = 'ab'.repeat(32);
      const { row } = mintedKeyRow({ certFingerprint: fingerprint });
      await store.createKey(row, NOW, CLI_ACTOR);
      const verifier = new KeyVerifier(store, { maxKeys: 10, maxUnknown: 10 });
      const withIdentity = keyAuth.create(config({ certificateIdentity: true }), fakeParts({ verifier })) as KeyAuthCheck;
      const certified = presenting(withIdentity, { tls: { authorized: true, fingerprint256: 'AB:'.repeat(31) + 'AB' } });
      assert.equal(await withIdentity.run(certified), null);
      assert.equal(certified.key?.record.id, row.id);
      assert.equal(((await withIdentity.run(presenting(withIdentity, {}))) as Denial | null)?.code, 'key_missing', 'no certificate: no key');

      const withoutIdentity = keyAuth.create(config({ certificateIdentity: false }), fakeParts({ verifier })) as KeyAuthCheck;
      assert.equal(((await withoutIdentity.run(presenting(withoutIdentity, { tls: { authorized: true, fingerprint256: 'AB:'.repeat(31) + 'AB' } }))) as Denial | null)?.code, 'key_missing');
    });
  });
});
