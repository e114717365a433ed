import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Denial } from '../../http/error-catalogue.ts';
import { digestKey } from '../../keys/key-digest.ts';
import { createKeyParser, generateKey } from '../../keys/key-format.ts';
import { openKeyStore } from '../../store/open-key-store.ts';
import type { Store } from '../../store/store.ts';
import { createDpopRefusals } from '../../verify/dpop/dpop-refusals.ts';
import { verifyDelegatedToken } from '../../verify/dpop/delegated-token.ts';
import { TokenKeyRing } from '../../verify/dpop/token-key-ring.ts';
import type { CachedKey } from '../../verify/key-verifier.ts';
import { fakeContext, fakeKey } from '../../../test/support/fake-context.ts';
import { ANSWERED } from '../request-context.ts';
import { IssuerAuthentication } from './issuer-authentication.ts';
import { TokenIssuerCheck } from './token-issuer-check.ts';

const PATH = '/.well-known/portcullis/token';
const JKT = 'N'.repeat(43);
const KEY = generateKey('pcl');
const NOW = Date.parse('2026-12-01T12:00:00Z');

let store: Store;
let ring: TokenKeyRing;
before(async () => {
  store = await openKeyStore(':memory:');
  ring = new TokenKeyRing(store, { overlapMs: 3_660_000, now: () => NOW });
});
after(() => store.close());

function issuer(frontend: CachedKey | null, maxLifetimeSeconds = 3600): TokenIssuerCheck {
  const verifier = { lookup: (digest: string) => (digest === digestKey(KEY) ? frontend : null), freshUntil: Number.POSITIVE_INFINITY, storeReachable: true };
  const onStoreError = (error: unknown) => assert.fail(String(error));
  return new TokenIssuerCheck({ path: PATH, authentication: new IssuerAuthentication({ parseKey: createKeyParser(['pcl']), verifier, onStoreError }), keys: ring, maxLifetimeSeconds, onStoreError });
}

async function post(check: TokenIssuerCheck, body: unknown, options: { credential?: string | null; method?: string; address?: string } = {}) {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const context = fakeContext({ method: options.method ?? 'POST', url: PATH, body: text, headers: ['Content-Length', String(Buffer.byteLength(text))], ...(options.address ? { address: options.address } : {}) }, { credential: options.credential === undefined ? KEY : options.credential, now: NOW });
  let written = '';
  const end = context.res.end.bind(context.res);
  context.res.end = ((chunk?: unknown) => {
    written = String(chunk);
    return end();
  }) as typeof context.res.end;
  const result = await check.run(context);
  const answer = result === ANSWERED ? (JSON.parse(written) as Record<string, unknown>) : null;
  return { result, context, code: result === ANSWERED ? null : ((result as Denial | null)?.code ?? null), answer };
}

const FRONTEND = fakeKey({ id: 'key_frontend', scopes: ['orders:*', 'profile:read'] });
const ASK = { jkt: JKT, scopes: ['orders:read'], origins: ['https://app.example'] };

describe('TokenIssuerCheck', () => {
  it('passes every other path untouched', async () => {
    const context = fakeContext({ url: '/orders' });
    assert.equal(await issuer(FRONTEND).run(context), null);
  });

  it('answers a token for a subset of the key\'s scopes, signed by the gateway, naming the key', async () => {
    const { result, context, answer } = await post(issuer(FRONTEND), { ...ASK, lifetime: 120 });
    assert.equal(result, ANSWERED);
    assert.equal(context.res.statusCode, 200);
    const body = answer as { token: string; token_type: string; key_id: string; scopes: string[]; expires_in: number; token_id: string };
    assert.deepEqual([body.token_type, body.key_id, body.scopes, body.expires_in], ['DPoP', 'key_frontend', ['orders:read'], 120]);
    const keys = await ring.keys();
    const refusals = createDpopRefusals(['ES256']);
    const verdict = await verifyDelegatedToken(body.token, { keys: keys.publicKeys, refusals, clockToleranceMs: 0 }, NOW);
    assert.ok(verdict.ok);
    assert.deepEqual([verdict.claims.parentKeyId, verdict.claims.scopes, verdict.claims.jkt, verdict.claims.jti], ['key_frontend', ['orders:read'], JKT, body.token_id]);
  });

  it('caps the lifetime at dpop.maxTokenLifetime and defaults it to 10 minutes', async () => {
    const capped = await post(issuer(FRONTEND, 300), { ...ASK, lifetime: 86_400 });
    assert.equal(capped.answer?.expires_in, 300);
    const defaulted = await post(issuer(FRONTEND), ASK);
    assert.equal(defaulted.answer?.expires_in, 600);
  });

  const refused: Array<[string, unknown, { credential?: string | null; method?: string; address?: string }, CachedKey | null, string]> = [
    ['a scope the key does not hold', { ...ASK, scopes: ['orders:read', 'admin'] }, {}, FRONTEND, 'scope_missing'],
    ['a wider wildcard than the key holds', { ...ASK, scopes: ['*'] }, {}, FRONTEND, 'scope_missing'],
    ['no key', ASK, { credential: null }, FRONTEND, 'key_missing'],
    ['a malformed key', ASK, { credential: 'pcl_nope' }, FRONTEND, 'key_invalid'],
    ['an unknown key', ASK, {}, null, 'key_invalid'],
    ['a revoked key', ASK, {}, fakeKey({ revokedAt: NOW - 1 }), 'key_revoked'],
    ['a quarantined key', ASK, {}, fakeKey({ quarantinedAt: NOW - 1 }), 'key_quarantined'],
    ['a key used outside its networks', ASK, { address: '198.51.100.7' }, fakeKey({ allowedCidrs: ['10.0.0.0/8'] }), 'ip_not_allowed'],
    ['GET', ASK, { method: 'GET' }, FRONTEND, 'method_not_allowed'],
    ['a body that is not JSON', 'jkt=x', {}, FRONTEND, 'request_invalid'],
    ['an unknown member', { ...ASK, scope: 'x' }, {}, FRONTEND, 'request_invalid'],
    ['a malformed thumbprint', { ...ASK, jkt: 'short' }, {}, FRONTEND, 'request_invalid'],
    ['an origin with a path', { ...ASK, origins: ['https://app.example/'] }, {}, FRONTEND, 'request_invalid'],
    ['no origin', { ...ASK, origins: [] }, {}, FRONTEND, 'request_invalid'],
    ['a lifetime of zero', { ...ASK, lifetime: 0 }, {}, FRONTEND, 'request_invalid'],
  ];
  for (const [name, body, options, frontend, code] of refused) {
    it(`refuses ${name} with ${code}`, async () => {
      const { code: got } = await post(issuer(frontend), body, options);
      assert.equal(got, code);
    });
  }

  it('refuses a body over 16 KiB before reading it', async () => {
    const context = fakeContext({ method: 'POST', url: PATH, headers: ['Content-Length', String(16 * 1024 + 1)] }, { credential: KEY });
    assert.equal(((await issuer(FRONTEND).run(context)) as Denial).code, 'body_too_large');
  });
});
