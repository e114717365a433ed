/**
 * Delegated tokens revoked one by one: the DPoP check refuses a revoked token (401
 * `dpop_token_revoked`, the `invalid_token` challenge) on every request, its verdict cached or
 * not, while another token of the same parent works; and fails closed while the revoked list
 * cannot be read.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Denial } from '../../http/error-catalogue.ts';
import { CLI_ACTOR } from '../../store/audit-log.ts';
import { openKeyStore } from '../../store/open-key-store.ts';
import type { Store } from '../../store/store.ts';
import { mintDelegatedToken } from '../../verify/dpop/delegated-token.ts';
import { createDpopProofSettings } from '../../verify/dpop/dpop-proof.ts';
import { JtiReplayCache } from '../../verify/dpop/jti-replay-cache.ts';
import { RevokedTokenList } from '../../verify/dpop/revoked-tokens.ts';
import { TokenKeyRing } from '../../verify/dpop/token-key-ring.ts';
import { dpopProof, proofKey, thumbprintOf, tokenHash } from '../../../test/support/dpop-proofs.ts';
import { fakeContext, fakeKey, withHeadersRead } from '../../../test/support/fake-context.ts';
import { DpopCheck } from './dpop-check.ts';

const NOW = Date.parse('2026-12-01T12:00:00Z');
const ORIGIN = 'https://app.example';
const BROWSER = proofKey('ES256');
const parent = fakeKey({ id: 'key_parent', scopes: ['orders:read'] });

let store: Store;
let ring: TokenKeyRing;
before(async () => {
  store = await openKeyStore(':memory:');
  ring = new TokenKeyRing(store, { overlapMs: 3_660_000, now: () => NOW });
});
after(() => store.close());

async function mint(): Promise<{ token: string; jti: string }> {
  const minted = await mintDelegatedToken({ parentKeyId: 'key_parent', scopes: ['orders:read'], origins: [ORIGIN], jkt: thumbprintOf(BROWSER) }, { signingKey: await ring.signingKey(CLI_ACTOR), now: NOW - 10_000 });
  assert.ok(minted.ok);
  return { token: minted.token, jti: minted.jti };
}

function checkWith(revoked: RevokedTokenList, onStoreError: (error: unknown) => void = (error) => assert.fail(String(error))): DpopCheck {
  return new DpopCheck({
    keys: ring,
    verifier: { lookupById: (id) => (id === 'key_parent' ? parent : null), freshUntil: Number.POSITIVE_INFINITY, storeReachable: true },
    proofs: createDpopProofSettings({ replayCache: new JtiReplayCache(100) }),
    nonces: null,
    publicOrigin: null,
    revoked,
    onStoreError,
  });
}

let proofs = 0;
async function send(check: DpopCheck, token: string, now = NOW): Promise<Denial | null> {
  const proof = dpopProof(BROWSER, { jti: `p-${++proofs}`, htm: 'GET', htu: 'http://api.example/orders', iat: Math.floor(now / 1000), ath: tokenHash(token) });
  const context = withHeadersRead(fakeContext({ method: 'GET', url: '/orders', headers: ['Host', 'api.example', 'Origin', ORIGIN, 'Authorization', `DPoP ${token}`, 'DPoP', proof] }, { now }), check.requestHeaders);
  return (await check.run(context)) as Denial | null;
}

describe('DpopCheck: tokens revoked one by one', () => {
  it('refuses a revoked token, even one whose verdict it remembers, and keeps serving its sibling', async () => {
    let clock = NOW;
    const list = new RevokedTokenList(store, { pollIntervalMs: 60_000, staleForMs: 300_000, onError: (error) => assert.fail(String(error)), now: () => clock });
    const check = checkWith(list);
    const copied = await mint();
    const sibling = await mint();
    assert.equal(await send(check, copied.token), null, 'works before the revocation (and its verdict is now remembered)');
    assert.equal(await store.revokeToken(copied.jti, 'key_parent', NOW + 3_600_000, 'copied', NOW, CLI_ACTOR), true);
    clock += 10;
    await list.refresh();
    const refusal = await send(check, copied.token);
    assert.equal(refusal?.code, 'dpop_token_revoked');
    assert.equal(refusal?.status, 401);
    assert.match(String(refusal?.headers?.find(([name]) => name === 'www-authenticate')?.[1]), /^DPoP .*error="invalid_token"/);
    assert.equal(await send(check, sibling.token), null, 'another token of the same parent still works');
    list.close();
  });

  it('waits for the first read of the revoked list, and refuses with 503 when it fails or the list has gone stale', async () => {
    let failing = true;
    let clock = NOW;
    const errors: unknown[] = [];
    const flaky = {
      revokedTokensSince: async (from: number, now: number) => {
        if (failing) throw new Error('store down');
        return store.revokedTokensSince(from, now);
      },
      purgeRevokedTokens: async () => 0,
    };
    const list = new RevokedTokenList(flaky, { pollIntervalMs: 60_000, staleForMs: 5000, onError: (error) => errors.push(error), now: () => clock });
    const check = checkWith(list, (error) => errors.push(error));
    const { token } = await mint();
    assert.equal((await send(check, token))?.code, 'store_unavailable', 'never read: fail closed');
    failing = false;
    assert.equal(await send(check, token), null, 'the first read is made on demand');
    failing = true;
    clock += 6000;
    await assert.rejects(list.refresh());
    assert.equal((await send(check, token, clock))?.code, 'store_unavailable', 'past staleFor without a read');
    assert.ok(errors.length >= 1);
    list.close();
  });
});
