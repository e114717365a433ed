import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, it } from 'node:test';
import { signRequest } from '../../../packages/node-signer/src/index.ts';
import type { Denial } from '../../http/error-catalogue.ts';
import { fakeContext, fakeKey } from '../../../test/support/fake-context.ts';
import { SharedReplayClaims, type ClaimOnce } from '../../verify/shared-replay.ts';
import type { RequestContext } from '../request-context.ts';
import type { ExpectedDigest } from './content-digest.ts';
import { SignedRequestsCheck } from './signed-requests-check.ts';

const NOW = Date.parse('2026-12-01T12:00:00Z');
const KEY_ID = 'key_signed';
const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const PUBLIC_PEM = publicKey.export({ type: 'spki', format: 'pem' }).toString();

/** A stand-in for Redis `SET NX PX`, shared by the nodes given it; `down` makes it answer null. */
function fakeRedis() {
  const names = new Set<string>();
  const state = { down: false, calls: 0 };
  const claim: ClaimOnce = (name) => {
    state.calls++;
    if (state.down) return Promise.resolve(null);
    if (names.has(name)) return Promise.resolve(false);
    names.add(name);
    return Promise.resolve(true);
  };
  return { claim, state };
}

function node(claim: ClaimOnce | null, onDegraded = () => {}): SignedRequestsCheck {
  const shared = claim === null ? null : new SharedReplayClaims({ claim, namespace: 'sig:', onDegraded });
  return new SignedRequestsCheck({ maxAge: 60_000, clockSkew: 10_000, replayCacheSize: 100, scheme: 'auto' }, new WeakMap<RequestContext, ExpectedDigest>(), () => {}, shared);
}

function request(headers: Record<string, string>): RequestContext {
  const lines = ['Host', 'api.example'];
  for (const [name, value] of Object.entries(headers)) lines.push(name, value);
  return fakeContext({ method: 'GET', url: '/orders', headers: lines }, { key: fakeKey({ id: KEY_ID, signingKey: PUBLIC_PEM }), now: NOW });
}

const signature = (nonce: string) => ({ ...signRequest({ method: 'GET', url: 'http://api.example/orders', privateKey, keyId: KEY_ID, created: NOW / 1000, nonce }) });
const code = (result: unknown) => (result === null ? null : (result as Denial).code);

describe('RFC 9421 signature replay shared between nodes', () => {
  it('refuses on a second node a signature the first accepted', async () => {
    const redis = fakeRedis();
    const [a, b] = [node(redis.claim), node(redis.claim)];
    const headers = signature('n1');
    assert.equal(code(await a.run(request(headers))), null);
    assert.equal(code(await b.run(request(headers))), 'signature_replayed');
    assert.equal(code(await b.run(request(signature('n2')))), null);
  });

  it('without Redis stays synchronous (no promise on the request path)', () => {
    const result = node(null).run(request(signature('n3')));
    assert.equal(result, null);
  });

  it('while Redis does not answer: same-node replays refused, cross-node replays accepted and reported', async () => {
    const redis = fakeRedis();
    let reports = 0;
    const [a, b] = [node(redis.claim, () => reports++), node(redis.claim, () => reports++)];
    redis.state.down = true;
    const headers = signature('n4');
    assert.equal(code(await a.run(request(headers))), null);
    assert.equal(code(await a.run(request(headers))), 'signature_replayed');
    assert.equal(code(await b.run(request(headers))), null);
    assert.equal(reports, 2);
  });
});
