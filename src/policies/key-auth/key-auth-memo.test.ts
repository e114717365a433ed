import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { KeyAuthCheck } from './key-auth-check.ts';
import { fakeContext } from '../../../test/support/fake-context.ts';
import { createKeyParser, displayPrefixOf, generateKey, generateKeyId } from '../../keys/key-format.ts';
import { digestKey } from '../../keys/key-digest.ts';
import { KeyVerifier } from '../../verify/key-verifier.ts';
import { VerifiedKeyMemo } from '../../verify/verified-key-memo.ts';
import type { KeyStore } from '../../store/key-store.ts';
import { CLI_ACTOR } from '../../store/audit-log.ts';
import type { Denial } from '../../http/error-catalogue.ts';
import type { RequestContext } from '../request-context.ts';
import { freshStorePerTest, temporarySqliteStore } from '../../../test/support/fresh-store.ts';

/** A request presenting `key`, as the engine's header pass leaves it: the key headers read. */
function contextFor(key: string, check: KeyAuthCheck): RequestContext {
  const headers = ['Authorization', `Bearer ${key}`];
  const context = fakeContext({ headers }, { now: Date.now() });
  check.requestHeaders.readHeader(context, 'authorization', headers[1] as string);
  return context;
}

describe('key auth with the verified-key memo', () => {
  let store: KeyStore;
  freshStorePerTest(temporarySqliteStore, (fresh) => (store = fresh));

  async function createKey(): Promise<{ key: string; id: string }> {
    const key = generateKey('pcl');
    const id = generateKeyId();
    await store.createKey({ id, digest: digestKey(key), displayPrefix: displayPrefixOf(key), name: 'n', tags: [], scopes: [], allowedCidrs: [], certFingerprint: null, rateLimit: null, quota: null, metadata: {}, expiresAt: null }, Date.now(), CLI_ACTOR);
    return { key, id };
  }

  async function setUp(memo: VerifiedKeyMemo | null, maxKeys = 10) {
    const { key, id } = await createKey();
    const verifier = new KeyVerifier(store, { maxKeys, maxUnknown: 10 });
    const parse = createKeyParser(['pcl']);
    let parses = 0;
    const check = new KeyAuthCheck({
      keyHeaders: ['authorization'],
      acceptedPrefixes: ['pcl'],
      parseKey: (input) => {
        parses++;
        return parse(input);
      },
      verifier,
      queryParameter: null,
      onStoreError: (error) => assert.fail(String(error)),
      memo,
    });
    const run = async (presented: string) => {
      const context = contextFor(presented, check);
      const outcome = (await check.run(context)) as Denial | null;
      return { outcome, context };
    };
    return { key, id, verifier, run, parses: () => parses };
  }

  it('skips the format check for a key that matched before, and still sees its revocation at once', async () => {
    const memo = new VerifiedKeyMemo(100);
    const { key, id, verifier, run, parses } = await setUp(memo);
    assert.equal((await run(key)).outcome, null);
    assert.equal(parses(), 1);
    assert.equal(memo.size, 1);
    const second = await run(key);
    assert.equal(second.outcome, null);
    assert.equal(second.context.key?.record.id, id);
    assert.equal(parses(), 1, 'a remembered key is not parsed and hashed again');

    const revoked = await store.revokeKey(id, 'leaked', Date.now(), CLI_ACTOR);
    verifier.applyChange(revoked!);
    assert.equal((await run(key)).outcome?.code, 'key_revoked');
  });

  it('reads the store again when the remembered key has left the key cache (evicted or cleared)', async () => {
    const memo = new VerifiedKeyMemo(100);
    const { key, id, verifier, run, parses } = await setUp(memo, 1);
    const other = await createKey();
    assert.equal((await run(key)).outcome, null);
    // Revoked in the store while no feed runs here: only a fresh read can see it.
    await store.revokeKey(id, 'leaked', Date.now(), CLI_ACTOR);
    assert.equal((await run(key)).outcome, null, 'served from the cache entry the memo points at');
    const missesBefore = verifier.stats.misses;
    assert.equal((await run(other.key)).outcome, null, 'the other key takes the only cache slot');
    assert.equal((await run(key)).outcome?.code, 'key_revoked', 'an evicted entry is not trusted');
    assert.equal(verifier.stats.misses, missesBefore + 2);
    assert.equal(parses(), 2, 'each key parsed once: the memo spared the parse, only the lookup was repeated');

    const again = await setUp(memo, 10);
    assert.equal((await again.run(again.key)).outcome, null);
    await store.revokeKey(again.id, 'leaked', Date.now(), CLI_ACTOR);
    again.verifier.clear();
    assert.equal((await again.run(again.key)).outcome?.code, 'key_revoked', 'nor is one from before clear()');
    assert.equal(again.parses(), 1);
  });

  it('never remembers a key that matched no record, nor a malformed one', async () => {
    const memo = new VerifiedKeyMemo(100);
    const { run, parses } = await setUp(memo);
    const stranger = generateKey('pcl');
    assert.equal((await run(stranger)).outcome?.code, 'key_invalid');
    assert.equal((await run(stranger)).outcome?.code, 'key_invalid');
    assert.equal((await run('pcl_not-a-key')).outcome?.code, 'key_invalid');
    assert.equal(memo.size, 0);
    assert.equal(parses(), 3, 'every unknown or malformed key is checked again');
  });

  it('parses every request when the memo is off (cache.maxVerifiedKeys: 0)', async () => {
    const { key, run, parses } = await setUp(null);
    await run(key);
    await run(key);
    assert.equal(parses(), 2);
  });
});
