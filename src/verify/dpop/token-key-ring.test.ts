import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CLI_ACTOR } from '../../store/audit-log.ts';
import { openKeyStore } from '../../store/open-key-store.ts';
import { createDpopRefusals } from './dpop-refusals.ts';
import { mintDelegatedToken, verifyDelegatedToken, type DelegatedTokenVerifier } from './delegated-token.ts';
import { TokenKeyRing, type VerificationKeys } from './token-key-ring.ts';

const REFUSALS = createDpopRefusals(['ES256']);
const JKT = 'A'.repeat(43);

function verifierOf(keys: VerificationKeys): DelegatedTokenVerifier {
  return { keys: keys.publicKeys, refusals: REFUSALS, clockToleranceMs: 0 };
}

async function mint(ring: TokenKeyRing, now: number): Promise<string> {
  const minted = await mintDelegatedToken({ parentKeyId: 'key_parent', scopes: [], origins: ['https://app.example'], jkt: JKT }, { signingKey: await ring.signingKey(CLI_ACTOR), now });
  assert.ok(minted.ok);
  return minted.token;
}

/** Two gateway nodes on one store, each with its own ring and a clock the test moves. */
async function twoNodes() {
  const store = await openKeyStore(':memory:');
  let now = 1_750_000_000_000;
  const clock = { now: () => now, advance: (ms: number) => (now += ms) };
  const options = { overlapMs: 3_660_000, refreshIntervalMs: 30_000, minRefreshGapMs: 5_000, now: clock.now };
  return { store, clock, first: new TokenKeyRing(store, options), second: new TokenKeyRing(store, options) };
}

describe('TokenKeyRing', () => {
  it('makes the first key pair on first need, once, and every node signs with it and verifies its tokens', async () => {
    const { store, clock, first, second } = await twoNodes();
    assert.equal((await second.keys()).publicKeys.size, 0, 'no key before anything was issued');
    const [a, b] = await Promise.all([first.signingKey(CLI_ACTOR), new TokenKeyRing(store, { overlapMs: 1000, now: clock.now }).signingKey(CLI_ACTOR)]);
    assert.equal(a.kid, b.kid, 'both nodes sign with the one key the store kept');
    assert.equal((await store.listTokenSigningKeys(clock.now())).length, 1);
    const token = await mint(first, clock.now());
    assert.equal((await second.keys()).publicKeys.size, 0, 'the second node still holds what it read before the key existed');
    assert.equal(await second.keysAfterMiss(), null, 'and reads again only once the gap has passed');
    clock.advance(5000);
    const fresher = await second.keysAfterMiss();
    assert.ok(fresher !== null);
    assert.equal((await verifyDelegatedToken(token, verifierOf(fresher), clock.now())).ok, true);
    assert.deepEqual((await first.keys()).nonceSecret, fresher.nonceSecret, 'both nodes derive the same nonce secret');
    await store.close();
  });

  it('reads the store again for an unknown kid at most once per gap, and in the background once the keys are old', async () => {
    const { store, clock, first, second } = await twoNodes();
    await second.keys();
    await first.signingKey(CLI_ACTOR);
    clock.advance(4999);
    assert.equal(await second.keysAfterMiss(), null, 'within the gap: no read');
    clock.advance(1);
    assert.equal((await second.keysAfterMiss())?.publicKeys.size, 1);
    await first.rotate(CLI_ACTOR);
    clock.advance(29_999);
    assert.equal((await second.keys()).publicKeys.size, 1, 'fresh enough: answered from memory');
    clock.advance(1);
    assert.equal((await second.keys()).publicKeys.size, 1, 'the old keys answer while a background read starts');
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal((await second.keys()).publicKeys.size, 2, 'the background read brought the rotated key');
    await store.close();
  });

  it('rotates: new tokens use the new key, tokens of the retired key verify until its overlap ends', async () => {
    const { store, clock, first, second } = await twoNodes();
    const oldToken = await mint(first, clock.now());
    const retired = await second.rotate(CLI_ACTOR);
    assert.equal(retired, (await first.signingKey(CLI_ACTOR)).kid, 'the first node still signs with the old key until it reads again');
    clock.advance(5000);
    const keys = await first.keysAfterMiss();
    assert.ok(keys !== null);
    const newKid = (await first.signingKey(CLI_ACTOR)).kid;
    assert.notEqual(newKid, retired);
    assert.deepEqual([...keys.publicKeys.keys()].sort(), [newKid, retired].sort());
    assert.equal((await verifyDelegatedToken(oldToken, verifierOf(keys), clock.now())).ok, true);
    clock.advance(3_660_000);
    const later = await first.keysAfterMiss();
    assert.ok(later !== null);
    assert.deepEqual([...later.publicKeys.keys()], [newKid], 'the retired key is gone after its overlap');
    await store.close();
  });

  it('rejects when the keys were never read and the store cannot be reached, and keeps what it holds when a later read fails', async () => {
    const { store, clock, first } = await twoNodes();
    await first.signingKey(CLI_ACTOR);
    const held = await first.keys();
    await store.close();
    clock.advance(10_000);
    assert.equal(await first.keysAfterMiss(), null);
    assert.equal(await first.keys(), held);
    const unread = new TokenKeyRing(store, { overlapMs: 1000 });
    await assert.rejects(async () => unread.keys());
  });
});
