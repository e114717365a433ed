import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { dpopProof, proofKey, thumbprintOf, tokenHash } from '../../../test/support/dpop-proofs.ts';
import { createDelegatedTokenVerifier, DEFAULT_TOKEN_LIFETIME_SECONDS, mintDelegatedToken, verifyDelegatedToken, type DelegatedTokenRequest, type DelegatedTokenResult } from './delegated-token.ts';
import { createDpopProofSettings, verifyDpopProof } from './dpop-proof.ts';
import { createDpopRefusals } from './dpop-refusals.ts';
import { JtiReplayCache } from './jti-replay-cache.ts';

const NOW = 1_750_000_000_000;
const REFUSALS = createDpopRefusals(['ES256', 'EdDSA']);
const BROWSER_KEY = proofKey('ES256');

interface GatewayKey {
  readonly kid: string;
  readonly privateKey: CryptoKey;
  readonly publicKey: CryptoKey;
}

/** A gateway signing key whose kid is its thumbprint, as the store will name them. */
async function gatewayKey(): Promise<GatewayKey> {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  return { kid: await calculateJwkThumbprint(await exportJWK(publicKey)), privateKey, publicKey };
}

const CURRENT = await gatewayKey();
const PREVIOUS = await gatewayKey();
const STRANGER = await gatewayKey();

const REQUEST: DelegatedTokenRequest = {
  parentKeyId: 'key_01HZX3',
  scopes: ['orders:read', 'orders:write'],
  origins: ['https://app.example', 'http://localhost:5173'],
  jkt: thumbprintOf(BROWSER_KEY),
};

async function mint(request: Partial<DelegatedTokenRequest> = {}, key: GatewayKey = CURRENT, now = NOW, maxLifetimeSeconds?: number): Promise<string> {
  const minted = await mintDelegatedToken({ ...REQUEST, ...request }, { signingKey: key, now, maxLifetimeSeconds });
  assert.ok(minted.ok, minted.ok ? '' : minted.problem);
  return minted.token;
}

const VERIFIER = createDelegatedTokenVerifier([CURRENT, PREVIOUS], REFUSALS);

function assertRefused(result: DelegatedTokenResult, reason: string, code = 'dpop_token_invalid'): void {
  assert.equal(result.ok, false, `expected a refusal (${reason})`);
  if (result.ok) return;
  assert.equal(result.reason, reason);
  assert.equal(result.denial.code, code);
  assert.equal(result.denial.status, 401);
  assert.deepEqual(result.denial.headers, [['www-authenticate', 'DPoP realm="portcullis", error="invalid_token", algs="ES256 EdDSA"']]);
}

describe('mintDelegatedToken and verifyDelegatedToken', () => {
  it('round-trips the parent key, scopes, origins, jkt, a fresh jti, and a 10-minute lifetime by default', async () => {
    const minted = await mintDelegatedToken(REQUEST, { signingKey: CURRENT, now: NOW + 400 });
    assert.ok(minted.ok);
    assert.equal(minted.expiresAt, NOW + DEFAULT_TOKEN_LIFETIME_SECONDS * 1000);
    const result = await verifyDelegatedToken(minted.token, VERIFIER, NOW + 1000);
    assert.ok(result.ok);
    assert.deepEqual(result.claims, {
      parentKeyId: REQUEST.parentKeyId,
      scopes: REQUEST.scopes,
      origins: REQUEST.origins,
      jkt: REQUEST.jkt,
      jti: minted.jti,
      kid: CURRENT.kid,
      issuedAt: NOW,
      expiresAt: NOW + 600_000,
    });
    const other = await mintDelegatedToken(REQUEST, { signingKey: CURRENT, now: NOW });
    assert.ok(other.ok && other.jti !== minted.jti && /^[A-Za-z0-9_-]{22}$/.test(other.jti));
  });

  it('types its header and names the signing key', async () => {
    const header = JSON.parse(Buffer.from((await mint()).split('.')[0]!, 'base64url').toString()) as Record<string, unknown>;
    assert.deepEqual(header, { alg: 'ES256', typ: 'portcullis-delegated+jwt', kid: CURRENT.kid });
  });

  it('caps the lifetime at the configured maximum, and takes a shorter one as asked', async () => {
    const capped = await mintDelegatedToken({ ...REQUEST, lifetimeSeconds: 86_400 }, { signingKey: CURRENT, now: NOW, maxLifetimeSeconds: 900 });
    assert.ok(capped.ok);
    assert.equal(capped.expiresAt, NOW + 900_000);
    const short = await mintDelegatedToken({ ...REQUEST, lifetimeSeconds: 60 }, { signingKey: CURRENT, now: NOW });
    assert.ok(short.ok);
    assert.equal(short.expiresAt, NOW + 60_000);
    await assert.rejects(mintDelegatedToken(REQUEST, { signingKey: CURRENT, now: NOW, maxLifetimeSeconds: 7 * 86_400 }), /Invalid token lifetime cap/);
  });

  it('refuses a request it cannot mint a safe token for, saying why', async () => {
    for (const [change, problem] of [
      [{ lifetimeSeconds: 0 }, /lifetime/],
      [{ lifetimeSeconds: 1.5 }, /lifetime/],
      [{ parentKeyId: '' }, /parent key/],
      [{ scopes: ['a'.repeat(129)] }, /scopes/],
      [{ origins: [] }, /origins/],
      [{ origins: ['https://app.example/'] }, /origins/],
      [{ origins: ['https://app.example/path'] }, /origins/],
      [{ origins: ['HTTPS://APP.example'] }, /origins/],
      [{ origins: ['null'] }, /origins/],
      [{ origins: ['file:///tmp'] }, /origins/],
      [{ jkt: 'not-a-thumbprint' }, /jkt/],
    ] as const) {
      const minted = await mintDelegatedToken({ ...REQUEST, ...change }, { signingKey: CURRENT, now: NOW });
      assert.ok(!minted.ok, JSON.stringify(change));
      assert.match(minted.problem, problem);
    }
  });

  it('refuses an expired token, as dpop_token_expired, from its exp on', async () => {
    const token = await mint({ lifetimeSeconds: 60 });
    assert.equal((await verifyDelegatedToken(token, VERIFIER, NOW + 59_999)).ok, true);
    assertRefused(await verifyDelegatedToken(token, VERIFIER, NOW + 60_000), 'expired', 'dpop_token_expired');
  });

  it('verifies tokens of every key in the set while keys rotate, and refuses an unknown kid', async () => {
    assert.equal((await verifyDelegatedToken(await mint({}, PREVIOUS), VERIFIER, NOW)).ok, true);
    const afterRotation = createDelegatedTokenVerifier([CURRENT], REFUSALS);
    assertRefused(await verifyDelegatedToken(await mint({}, PREVIOUS), afterRotation, NOW), 'unknownKey');
    assertRefused(await verifyDelegatedToken(await mint({}, STRANGER), VERIFIER, NOW), 'unknownKey');
  });

  it('refuses a token signed by another key under a known kid', async () => {
    assertRefused(await verifyDelegatedToken(await mint({}, { ...STRANGER, kid: CURRENT.kid }), VERIFIER, NOW), 'signature');
  });

  it('refuses a token whose claims were changed after signing', async () => {
    const [header, payload, signature] = (await mint()).split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
    const widened = Buffer.from(JSON.stringify({ ...claims, scopes: ['*'] })).toString('base64url');
    assertRefused(await verifyDelegatedToken(`${header}.${widened}.${signature}`, VERIFIER, NOW), 'signature');
  });

  it('refuses other JWTs signed by the same key, and values that are not tokens', async () => {
    const claims = { sub: 'key_01HZX3', scopes: [], origins: ['https://app.example'], cnf: { jkt: REQUEST.jkt }, jti: 'x', iat: NOW / 1000, exp: NOW / 1000 + 60 };
    const untyped = await new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid: CURRENT.kid }).sign(CURRENT.privateKey);
    assertRefused(await verifyDelegatedToken(untyped, VERIFIER, NOW), 'malformed');
    const accessToken = await new SignJWT(claims).setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: CURRENT.kid }).sign(CURRENT.privateKey);
    assertRefused(await verifyDelegatedToken(accessToken, VERIFIER, NOW), 'malformed');
    for (const junk of ['', 'pcl_abc', 'a.b', 'a.b.c', `${'a'.repeat(9000)}.b.c`]) assertRefused(await verifyDelegatedToken(junk, VERIFIER, NOW), 'malformed');
    const noKid = await new SignJWT(claims).setProtectedHeader({ alg: 'ES256', typ: 'portcullis-delegated+jwt' }).sign(CURRENT.privateKey);
    assertRefused(await verifyDelegatedToken(noKid, VERIFIER, NOW), 'unknownKey');
  });

  it('refuses a genuine token whose claims are missing or of the wrong shape, or issued in the future', async () => {
    const good = { sub: 'key_01HZX3', scopes: ['a'], origins: ['https://app.example'], cnf: { jkt: REQUEST.jkt }, jti: 'x', iat: NOW / 1000, exp: NOW / 1000 + 60 };
    for (const change of [{ sub: undefined }, { scopes: 'a' }, { origins: ['https://app.example/x'] }, { cnf: {} }, { cnf: { jkt: 'short' } }, { jti: 7 }, { exp: NOW / 1000 }, { iat: NOW / 1000 + 10 }, { exp: undefined }]) {
      const token = await new SignJWT({ ...good, ...change } as Record<string, unknown>).setProtectedHeader({ alg: 'ES256', typ: 'portcullis-delegated+jwt', kid: CURRENT.kid }).sign(CURRENT.privateKey);
      assertRefused(await verifyDelegatedToken(token, VERIFIER, NOW), 'claims');
    }
  });

  it('refuses, at start, an empty key set, a repeated kid, or a key that is not a P-256 public key', async () => {
    assert.throws(() => createDelegatedTokenVerifier([], REFUSALS), /at least one/);
    assert.throws(() => createDelegatedTokenVerifier([CURRENT, { ...PREVIOUS, kid: CURRENT.kid }], REFUSALS), /unique/);
    assert.throws(() => createDelegatedTokenVerifier([{ kid: 'p', publicKey: CURRENT.privateKey }], REFUSALS), /P-256 public key/);
    const ed = await generateKeyPair('EdDSA');
    assert.throws(() => createDelegatedTokenVerifier([{ kid: 'e', publicKey: ed.publicKey }], REFUSALS), /P-256 public key/);
  });
});

describe('a delegated token with its DPoP proof', () => {
  const URL = 'https://api.example/orders';
  const proofSettings = () => createDpopProofSettings({ algorithms: ['ES256', 'EdDSA'], replayCache: new JtiReplayCache(100) });

  async function present(token: string, proofKeyUsed = BROWSER_KEY) {
    const verified = await verifyDelegatedToken(token, VERIFIER, NOW);
    assert.ok(verified.ok);
    const proof = dpopProof(proofKeyUsed, { jti: 'p1', htm: 'GET', htu: URL, iat: NOW / 1000, ath: tokenHash(token) });
    return verifyDpopProof({ proof, method: 'GET', url: URL, accessToken: token, expectedThumbprint: verified.claims.jkt, now: NOW }, proofSettings());
  }

  it('is accepted with a proof of the browser key it is bound to', async () => {
    assert.equal((await present(await mint())).ok, true);
  });

  it('is refused with a proof of another key (the token copied out of the page), as invalid_token', async () => {
    const result = await present(await mint(), proofKey('ES256'));
    assert.ok(!result.ok);
    assert.equal(result.reason, 'thumbprint');
    assert.equal(result.denial.code, 'dpop_token_invalid');
  });
});
