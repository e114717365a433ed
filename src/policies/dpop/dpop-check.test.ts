import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import type { Denial } from '../../http/error-catalogue.ts';
import { CLI_ACTOR } from '../../store/audit-log.ts';
import { openKeyStore } from '../../store/open-key-store.ts';
import type { Store } from '../../store/store.ts';
import { mintDelegatedToken } from '../../verify/dpop/delegated-token.ts';
import { createDpopProofSettings } from '../../verify/dpop/dpop-proof.ts';
import { JtiReplayCache } from '../../verify/dpop/jti-replay-cache.ts';
import { ServerNonces } from '../../verify/dpop/server-nonce.ts';
import { TokenKeyRing } from '../../verify/dpop/token-key-ring.ts';
import type { CachedKey } from '../../verify/key-verifier.ts';
import { dpopProof, proofKey, thumbprintOf, tokenHash, type ProofKey } from '../../../test/support/dpop-proofs.ts';
import { fakeContext, fakeKey, withHeadersRead } from '../../../test/support/fake-context.ts';
import type { CheckResult } from '../request-context.ts';
import { DpopCheck, type DpopCheckOptions } from './dpop-check.ts';

const NOW = Date.parse('2026-12-01T12:00:00Z');
const URL = 'http://api.example/orders';
const ORIGIN = 'https://app.example';
const BROWSER = proofKey('ES256');

let store: Store;
let ring: TokenKeyRing;
const parent = fakeKey({ id: 'key_parent', scopes: ['orders:read', 'orders:write'] });

before(async () => {
  store = await openKeyStore(':memory:');
  ring = new TokenKeyRing(store, { overlapMs: 3_660_000, now: () => NOW });
});
after(() => store.close());

async function tokenFor(key: ProofKey, scopes: string[] = ['orders:read'], parentKeyId = 'key_parent'): Promise<string> {
  const minted = await mintDelegatedToken({ parentKeyId, scopes, origins: [ORIGIN], jkt: thumbprintOf(key) }, { signingKey: await ring.signingKey(CLI_ACTOR), now: NOW - 10_000 });
  assert.ok(minted.ok);
  return minted.token;
}

interface Setup {
  keys?: DpopCheckOptions['keys'];
  parentKey?: CachedKey | null;
  nonces?: boolean;
  freshUntil?: number;
}

function checkWith(setup: Setup = {}): DpopCheck {
  const options: DpopCheckOptions = {
    keys: setup.keys ?? ring,
    verifier: { lookupById: (id) => (id === 'key_parent' ? (setup.parentKey === undefined ? parent : setup.parentKey) : null), freshUntil: setup.freshUntil ?? Number.POSITIVE_INFINITY, storeReachable: true },
    proofs: createDpopProofSettings({ replayCache: new JtiReplayCache(100) }),
    nonces: setup.nonces === true ? new ServerNonces() : null,
    publicOrigin: null,
    onStoreError: (error) => assert.fail(String(error)),
  };
  return new DpopCheck(options);
}

let jti = 0;
function proofOf(key: ProofKey, token: string, claims: Record<string, unknown> = {}): string {
  return dpopProof(key, { jti: `jti-${++jti}`, htm: 'GET', htu: URL, iat: NOW / 1000, ath: tokenHash(token), ...claims });
}

/** The check's verdict on a request with these header lines, read as the engine reads them. */
async function verdict(check: DpopCheck, headers: string[], request: { method?: string; url?: string } = {}) {
  const context = withHeadersRead(fakeContext({ method: request.method ?? 'GET', url: request.url ?? '/orders', headers: ['Host', 'api.example', 'Origin', ORIGIN, ...headers] }), check.requestHeaders);
  const result: CheckResult = await check.run(context);
  return { result, context, code: (result as Denial | null)?.code ?? null };
}

describe('DpopCheck', () => {
  it('passes a request without a DPoP token untouched, whatever else it carries', async () => {
    const check = checkWith();
    const { result, context } = await verdict(check, ['Authorization', 'Bearer pcl_x', 'DPoP', 'stray-proof']);
    assert.equal(result, null);
    assert.equal(context.key, null);
    assert.deepEqual(context.upstreamHeaders.filter((_, index) => index % 2 === 0).map((name) => name.toLowerCase()), ['host', 'origin', 'authorization'], 'a DPoP line never reaches the upstream; another scheme does');
  });

  it('accepts a token with a proof of its key: the request runs as the parent, with the token scopes, its id upstream, and no token or proof', async () => {
    const token = await tokenFor(BROWSER);
    const { result, context } = await verdict(checkWith(), ['Authorization', `DPoP ${token}`, 'DPoP', proofOf(BROWSER, token)]);
    assert.equal(result, null);
    assert.equal(context.key?.record.id, 'key_parent');
    assert.deepEqual(context.key?.record.scopes, ['orders:read']);
    assert.equal(context.presentedKey, parent);
    const upstream = Object.fromEntries(Array.from({ length: context.upstreamHeaders.length / 2 }, (_, index) => [context.upstreamHeaders[2 * index]!.toLowerCase(), context.upstreamHeaders[2 * index + 1]]));
    assert.deepEqual(Object.keys(upstream).sort(), ['host', 'origin', 'x-portcullis-token-id', 'x-portcullis-token-scopes']);
    assert.equal(upstream['x-portcullis-token-scopes'], 'orders:read');
  });

  it('checks a token\'s signature once per process, yet refuses it once its signing key is gone or it has expired', async () => {
    const real = await ring.keys();
    let held = real;
    const check = checkWith({ keys: { keys: async () => held, keysAfterMiss: async () => null } });
    const token = await tokenFor(BROWSER);
    const send = async (now: number) => {
      const context = withHeadersRead(fakeContext({ method: 'GET', url: '/orders', headers: ['Host', 'api.example', 'Origin', ORIGIN, 'Authorization', `DPoP ${token}`, 'DPoP', proofOf(BROWSER, token, { iat: Math.floor(now / 1000) })] }, { now }), check.requestHeaders);
      return ((await check.run(context)) as Denial | null)?.code ?? null;
    };
    assert.equal(await send(NOW), null);
    assert.equal(await send(NOW), null, 'the remembered verdict');
    held = { ...real, publicKeys: new Map() };
    assert.equal(await send(NOW), 'dpop_token_invalid', 'its signing key retired: the remembered verdict no longer counts');
    held = real;
    assert.equal(await send(NOW), null);
    assert.equal(await send(NOW + 600_000), 'dpop_token_expired', 'expired, though remembered');
  });

  it('keeps only the token scopes the parent still holds', async () => {
    const token = await tokenFor(BROWSER, ['orders:read', 'orders:write']);
    const narrowedParent = fakeKey({ id: 'key_parent', scopes: ['orders:write'] });
    const { context } = await verdict(checkWith({ parentKey: narrowedParent }), ['Authorization', `DPoP ${token}`, 'DPoP', proofOf(BROWSER, token)]);
    assert.deepEqual(context.key?.record.scopes, ['orders:write']);
  });

  const refusals: Array<[string, () => Promise<string[]>, Setup, string]> = [
    ['no proof', async () => ['Authorization', `DPoP ${await tokenFor(BROWSER)}`], {}, 'dpop_proof_invalid'],
    ['a proof of another key', async () => {
      const token = await tokenFor(BROWSER);
      return ['Authorization', `DPoP ${token}`, 'DPoP', proofOf(proofKey('ES256'), token)];
    }, {}, 'dpop_token_invalid'],
    ['a proof for another URL', async () => {
      const token = await tokenFor(BROWSER);
      return ['Authorization', `DPoP ${token}`, 'DPoP', proofOf(BROWSER, token, { htu: 'http://api.example/admin' })];
    }, {}, 'dpop_proof_invalid'],
    ['a proof for another method', async () => {
      const token = await tokenFor(BROWSER);
      return ['Authorization', `DPoP ${token}`, 'DPoP', proofOf(BROWSER, token, { htm: 'POST' })];
    }, {}, 'dpop_proof_invalid'],
    ['a proof for another token', async () => {
      const token = await tokenFor(BROWSER);
      return ['Authorization', `DPoP ${token}`, 'DPoP', proofOf(BROWSER, await tokenFor(BROWSER, ['orders:write']))];
    }, {}, 'dpop_proof_invalid'],
    ['two tokens', async () => ['Authorization', `DPoP ${await tokenFor(BROWSER)}`, 'Authorization', `DPoP ${await tokenFor(BROWSER)}`], {}, 'dpop_token_invalid'],
    ['a token not signed by the gateway', async () => ['Authorization', 'DPoP eyJhbGciOiJFUzI1NiJ9.e30.AAAA', 'DPoP', 'x'], {}, 'dpop_token_invalid'],
    ['a proof without the server nonce', async () => {
      const token = await tokenFor(BROWSER);
      return ['Authorization', `DPoP ${token}`, 'DPoP', proofOf(BROWSER, token)];
    }, { nonces: true }, 'dpop_nonce_required'],
    ['a revoked parent', async () => {
      const token = await tokenFor(BROWSER);
      return ['Authorization', `DPoP ${token}`, 'DPoP', proofOf(BROWSER, token)];
    }, { parentKey: fakeKey({ id: 'key_parent', revokedAt: NOW - 1 }) }, 'key_revoked'],
    ['an expired parent', async () => {
      const token = await tokenFor(BROWSER);
      return ['Authorization', `DPoP ${token}`, 'DPoP', proofOf(BROWSER, token)];
    }, { parentKey: fakeKey({ id: 'key_parent', expiresAt: NOW - 1 }) }, 'key_expired'],
    ['a quarantined parent', async () => {
      const token = await tokenFor(BROWSER);
      return ['Authorization', `DPoP ${token}`, 'DPoP', proofOf(BROWSER, token)];
    }, { parentKey: fakeKey({ id: 'key_parent', quarantinedAt: NOW - 1 }) }, 'key_quarantined'],
    ['a parent that no longer exists', async () => {
      const token = await tokenFor(BROWSER);
      return ['Authorization', `DPoP ${token}`, 'DPoP', proofOf(BROWSER, token)];
    }, { parentKey: null }, 'dpop_token_invalid'],
    ['a parent known only from a change feed that lost the store too long ago', async () => {
      const token = await tokenFor(BROWSER);
      return ['Authorization', `DPoP ${token}`, 'DPoP', proofOf(BROWSER, token)];
    }, { freshUntil: NOW - 1 }, 'store_unavailable'],
  ];
  for (const [name, headers, setup, code] of refusals) {
    it(`refuses ${name} with ${code}`, async () => {
      const { code: refused, context, result } = await verdict(checkWith(setup), await headers());
      assert.equal(refused, code);
      assert.equal(context.key, null);
      if ((result as Denial).status === 401) assert.match(String((result as Denial).headers?.find(([header]) => header === 'www-authenticate')?.[1]), /^DPoP realm="portcullis", error="(invalid_dpop_proof|invalid_token|use_dpop_nonce)"/);
    });
  }

  it('refuses a token with an API key beside it (the key reader found one)', async () => {
    const token = await tokenFor(BROWSER);
    const check = checkWith();
    const context = withHeadersRead(fakeContext({ url: '/orders', headers: ['Host', 'api.example', 'Authorization', `DPoP ${token}`, 'DPoP', proofOf(BROWSER, token)] }, { credential: 'pcl_x' }), check.requestHeaders);
    assert.equal(((await check.run(context)) as Denial).code, 'key_ambiguous');
  });

  it('refuses a request from an Origin the token does not name', async () => {
    const token = await tokenFor(BROWSER);
    const check = checkWith();
    const context = withHeadersRead(fakeContext({ url: '/orders', headers: ['Host', 'api.example', 'Origin', 'https://evil.example', 'Authorization', `DPoP ${token}`, 'DPoP', proofOf(BROWSER, token)] }), check.requestHeaders);
    assert.equal(((await check.run(context)) as Denial).code, 'dpop_origin_not_allowed');
  });

  it('refuses a proof used twice', async () => {
    const token = await tokenFor(BROWSER);
    const check = checkWith();
    const proof = proofOf(BROWSER, token);
    assert.equal((await verdict(check, ['Authorization', `DPoP ${token}`, 'DPoP', proof])).code, null);
    assert.equal((await verdict(check, ['Authorization', `DPoP ${token}`, 'DPoP', proof])).code, 'dpop_proof_replayed');
  });

  it('hands out a nonce that it then accepts, and sends it with the answer', async () => {
    const token = await tokenFor(BROWSER);
    const check = checkWith({ nonces: true });
    const challenged = await verdict(check, ['Authorization', `DPoP ${token}`, 'DPoP', proofOf(BROWSER, token)]);
    const nonce = (challenged.result as Denial).headers?.find(([name]) => name === 'dpop-nonce')?.[1];
    assert.ok(nonce !== undefined);
    const accepted = await verdict(check, ['Authorization', `DPoP ${token}`, 'DPoP', proofOf(BROWSER, token, { nonce })]);
    assert.equal(accepted.code, null);
    assert.deepEqual(accepted.context.responseHeaders, ['dpop-nonce', nonce]);
  });

  it('refuses the token and proof with any one field of either changed in flight (fast-check)', async () => {
    const token = await tokenFor(BROWSER);
    const check = checkWith();
    const split = (jws: string) => jws.split('.') as [string, string, string];
    const decode = (part: string) => JSON.parse(Buffer.from(part, 'base64url').toString()) as Record<string, unknown>;
    const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const fields = (jws: string) => {
      const [header, claims] = split(jws);
      return [...Object.keys(decode(header)).map((name) => [0, name] as const), ...Object.keys(decode(claims)).map((name) => [1, name] as const)];
    };
    /** `jws` with one member of its header (0) or claims (1) replaced, the signature kept. */
    const changed = (jws: string, [part, name]: readonly [0 | 1, string], value: unknown): string => {
      const parts = split(jws);
      const object = decode(parts[part]);
      if (value === undefined) delete object[name];
      else object[name] = value;
      parts[part] = encode(object);
      return parts.join('.');
    };
    const sample = proofOf(BROWSER, token);
    const targets = [...fields(token).map((field) => ['token', field] as const), ...fields(sample).map((field) => ['proof', field] as const)];
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...targets), fc.oneof(fc.string(), fc.integer(), fc.constant(null), fc.constant(undefined), fc.array(fc.string(), { maxLength: 2 })), async ([which, field], value) => {
        const proof = proofOf(BROWSER, token);
        const original = (which === 'token' ? decode(split(token)[field[0]]) : decode(split(proof)[field[0]]))[field[1]];
        fc.pre(JSON.stringify(value) !== JSON.stringify(original));
        const sentToken = which === 'token' ? changed(token, field, value) : token;
        const sentProof = which === 'proof' ? changed(proof, field, value) : proof;
        const { code } = await verdict(check, ['Authorization', `DPoP ${sentToken}`, 'DPoP', sentProof]);
        assert.notEqual(code, null, `${which} ${field[1]} = ${JSON.stringify(value)} was accepted`);
      }),
      { numRuns: 150 },
    );
    // The unchanged pair is accepted, so the refusals above are the changes' doing.
    assert.equal((await verdict(check, ['Authorization', `DPoP ${token}`, 'DPoP', proofOf(BROWSER, token)])).code, null);
  });
});
