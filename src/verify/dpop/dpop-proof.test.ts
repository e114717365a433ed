import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import { dpopProof, proofHeader, proofKey, signProof, thumbprintOf, tokenHash, type ProofKey } from '../../../test/support/dpop-proofs.ts';
import { createDpopProofSettings, verifyDpopProof, type DpopProofOptions, type DpopProofRequest, type DpopProofResult } from './dpop-proof.ts';
import { JtiReplayCache } from './jti-replay-cache.ts';
import { jwkThumbprint } from './proof-jwk.ts';

// RFC 9449 §7.1: a GET to a protected resource with a DPoP-bound token and its proof.
const RFC_TOKEN = 'Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU';
const RFC_ATH = 'fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo';
const RFC_URL = 'https://resource.example.org/protectedresource';
const RFC_IAT = 1562262618;
const NOW = RFC_IAT * 1000;
// RFC 9449 §4.1 and §6.1: the example public key and its thumbprint (a token's cnf.jkt).
const RFC_JWK = { kty: 'EC', x: 'l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs', y: '9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA', crv: 'P-256' };
const RFC_JKT = '0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I';

const KEY = proofKey('ES256');
const ED_KEY = proofKey('EdDSA');
const OTHER_KEY = proofKey('ES256');

function settings(options: Partial<DpopProofOptions> = {}) {
  return createDpopProofSettings({ algorithms: ['ES256', 'EdDSA'], replayCache: new JtiReplayCache(1000), ...options });
}

/** The claims of the RFC 9449 §7.1 example proof, with `changes` over them (`undefined` removes a claim). */
function claims(changes: Record<string, unknown> = {}): Record<string, unknown> {
  return { jti: 'e1j3V_bKic8-LAEB', htm: 'GET', htu: RFC_URL, iat: RFC_IAT, ath: RFC_ATH, ...changes };
}

function request(proof: DpopProofRequest['proof'], changes: Partial<DpopProofRequest> = {}, key: ProofKey = KEY): DpopProofRequest {
  return { proof, method: 'GET', url: RFC_URL, accessToken: RFC_TOKEN, expectedThumbprint: thumbprintOf(key), now: NOW, ...changes };
}

function assertRefused(result: DpopProofResult, reason: string, code = 'dpop_proof_invalid'): void {
  assert.equal(result.ok, false, `expected a refusal (${reason})`);
  if (result.ok) return;
  assert.equal(result.reason, reason);
  assert.equal(result.denial.code, code);
  assert.equal(result.denial.status, code === 'dpop_replay_cache_full' ? 503 : 401);
}

async function refusedFor(proof: string, reason: string, changes: Partial<DpopProofRequest> = {}, options: Partial<DpopProofOptions> = {}): Promise<void> {
  assertRefused(await verifyDpopProof(request(proof, changes), settings(options)), reason);
}

async function accepted(proof: string, changes: Partial<DpopProofRequest> = {}, key: ProofKey = KEY, options: Partial<DpopProofOptions> = {}): Promise<void> {
  const result = await verifyDpopProof(request(proof, changes, key), settings(options));
  assert.equal(result.ok, true, result.ok ? '' : `refused: ${result.reason}`);
}

describe('the RFC 9449 examples', () => {
  it('has the example key thumbprint and token hash the RFC gives (§6.1, §7.1)', async () => {
    assert.equal(await jwkThumbprint(RFC_JWK), RFC_JKT);
    assert.equal(tokenHash(RFC_TOKEN), RFC_ATH);
    assert.equal(await jwkThumbprint(KEY.publicJwk), thumbprintOf(KEY), 'jose and the independent computation agree');
  });

  it('accepts the §7.1 request, re-created with a generated key, and names its key and jti', async () => {
    const result = await verifyDpopProof(request(dpopProof(KEY, claims())), settings());
    assert.deepEqual(result, { ok: true, thumbprint: thumbprintOf(KEY), jti: 'e1j3V_bKic8-LAEB' });
  });

  it('accepts the §4.1 proof (POST to a token endpoint, no access token yet)', async () => {
    const proof = dpopProof(KEY, { jti: '-BwC3ESc6acc2lTc', htm: 'POST', htu: 'https://server.example.com/token', iat: 1562262616 });
    await accepted(proof, { method: 'POST', url: 'https://server.example.com/token', accessToken: undefined, expectedThumbprint: undefined, now: 1562262616_000 });
  });

  it('accepts EdDSA (Ed25519) proofs when allowed', async () => {
    await accepted(dpopProof(ED_KEY, claims()), {}, ED_KEY);
  });
});

describe('§4.3 point 1: exactly one DPoP header value', () => {
  it('refuses a request without a proof', async () => {
    await refusedFor(undefined as unknown as string, 'missing');
    assertRefused(await verifyDpopProof(request([]), settings()), 'missing');
  });

  it('refuses two proofs, as two lines or as the one line Node joins them into', async () => {
    const proof = dpopProof(KEY, claims());
    assertRefused(await verifyDpopProof(request([proof, proof]), settings()), 'multiple');
    await refusedFor(`${proof}, ${proof}`, 'multiple');
    await accepted([proof] as unknown as string);
  });
});

describe('§4.3 points 2–3: a well-formed JWT', () => {
  const [header, payload, signature] = dpopProof(KEY, claims()).split('.') as [string, string, string];
  const encode = (value: unknown): string => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

  for (const [name, proof] of [
    ['two parts', `${header}.${payload}`],
    ['four parts', `${header}.${payload}.${signature}.${signature}`],
    ['an empty signature (alg none)', `${encode({ typ: 'dpop+jwt', alg: 'none' })}.${payload}.`],
    ['characters outside base64url', `${header}.${payload}+.${signature}`],
    ['a header that is not JSON', `${encode('{not json')}.${payload}.${signature}`],
    ['claims that are an array', `${header}.${encode([1, 2])}.${signature}`],
    ['a JWE-like five-part value', `${header}..${payload}.${signature}.${signature}`],
    ['a value beyond 4 KB', `${header}.${encode({ pad: 'x'.repeat(4096) })}.${signature}`],
  ] as const) {
    it(`refuses ${name}`, async () => {
      await refusedFor(proof, 'malformed');
    });
  }

  it('refuses a critical header parameter it does not understand', async () => {
    await refusedFor(dpopProof(KEY, claims(), { crit: ['exp'], exp: 1 }), 'malformed');
  });
});

describe('§4.3 point 4: typ is dpop+jwt', () => {
  for (const typ of [undefined, 'JWT', 'jwt', 'DPOP+JWT', 'application/dpop+jwt', 'at+jwt']) {
    it(`refuses typ ${JSON.stringify(typ)}`, async () => {
      await refusedFor(dpopProof(KEY, claims(), { typ }), 'typ');
    });
  }
});

describe('§4.3 point 5: alg is an accepted asymmetric algorithm', () => {
  it('refuses none and unknown algorithms, whatever the signature', async () => {
    for (const alg of ['none', 'None', 'RS256', 'ES384', 'PS256', 'Ed25519', undefined, 7]) await refusedFor(dpopProof(KEY, claims(), { alg }), 'alg');
  });

  it('refuses an HMAC proof even when its MAC is right for the key it names', async () => {
    const secret = Buffer.alloc(32, 7);
    const header = { typ: 'dpop+jwt', alg: 'HS256', jwk: { kty: 'oct', k: secret.toString('base64url') } };
    const input = `${Buffer.from(JSON.stringify(header)).toString('base64url')}.${Buffer.from(JSON.stringify(claims())).toString('base64url')}`;
    await refusedFor(`${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`, 'alg');
  });

  it('refuses EdDSA when only ES256 is configured (the default)', async () => {
    const esOnly = createDpopProofSettings({ replayCache: new JtiReplayCache(10) });
    assert.deepEqual(esOnly.algorithms, ['ES256']);
    assertRefused(await verifyDpopProof(request(dpopProof(ED_KEY, claims()), {}, ED_KEY), esOnly), 'alg');
  });
});

describe('§4.3 point 7: jwk is a public key of the algorithm', () => {
  it('refuses a proof without a jwk, or with one that is not an object', async () => {
    for (const jwk of [undefined, 'key', [KEY.publicJwk], null]) await refusedFor(dpopProof(KEY, claims(), { jwk }), 'jwk');
  });

  it('refuses a jwk with a private member, even though the signature verifies', async () => {
    const { d } = KEY.privateKey.export({ format: 'jwk' });
    await refusedFor(dpopProof(KEY, claims(), { jwk: { ...KEY.publicJwk, d } }), 'jwk');
    for (const member of ['p', 'q', 'dp', 'dq', 'qi', 'oth', 'k']) await refusedFor(dpopProof(KEY, claims(), { jwk: { ...KEY.publicJwk, [member]: 'AQAB' } }), 'jwk');
  });

  it('refuses a key of another type or curve than the algorithm', async () => {
    await refusedFor(dpopProof(KEY, claims(), { alg: 'EdDSA' }), 'jwk');
    await refusedFor(dpopProof(ED_KEY, claims(), { alg: 'ES256' }), 'jwk');
    await refusedFor(dpopProof(KEY, claims(), { jwk: { ...KEY.publicJwk, crv: 'P-384' } }), 'jwk');
    await refusedFor(dpopProof(KEY, claims(), { jwk: { ...KEY.publicJwk, kty: 'RSA' } }), 'jwk');
  });

  it('refuses coordinates that are not 32 bytes, not canonical base64url, or not a point on the curve', async () => {
    const x = KEY.publicJwk.x!;
    await refusedFor(dpopProof(KEY, claims(), { jwk: { ...KEY.publicJwk, x: x.slice(1) } }), 'jwk');
    await refusedFor(dpopProof(KEY, claims(), { jwk: { ...KEY.publicJwk, x: `${x.slice(0, 42)}B` } }), 'jwk');
    await refusedFor(dpopProof(KEY, claims(), { jwk: { ...KEY.publicJwk, x: 'A'.repeat(43) } }), 'jwk');
  });

  it('accepts extra public members (kid, use, alg) and ignores them for the thumbprint', async () => {
    await accepted(dpopProof(KEY, claims(), { jwk: { ...KEY.publicJwk, kid: 'browser-1', use: 'sig', alg: 'ES256' } }));
  });
});

describe('§4.3 point 6: the signature verifies with the header key', () => {
  it('refuses a proof whose signature has one byte changed', async () => {
    const [header, payload, signature] = dpopProof(KEY, claims()).split('.') as [string, string, string];
    const bytes = Buffer.from(signature, 'base64url');
    bytes[10]! ^= 1;
    await refusedFor(`${header}.${payload}.${bytes.toString('base64url')}`, 'signature');
  });

  it('refuses a proof signed by another key than the one in its header', async () => {
    await refusedFor(signProof(OTHER_KEY, proofHeader(KEY), claims()), 'signature');
  });

  it('refuses claims changed after signing', async () => {
    const [header, , signature] = dpopProof(KEY, claims()).split('.') as [string, string, string];
    const changed = Buffer.from(JSON.stringify(claims({ jti: 'another-jti-value' }))).toString('base64url');
    await refusedFor(`${header}.${changed}.${signature}`, 'signature');
  });
});

describe('§4.2: jti', () => {
  for (const [name, jti] of [['missing', undefined], ['empty', ''], ['a number', 12345], ['longer than 128 characters', 'j'.repeat(129)]] as const) {
    it(`refuses a jti that is ${name}`, async () => {
      await refusedFor(dpopProof(KEY, claims({ jti })), 'jti');
    });
  }
});

describe('§4.3 point 8: htm is the request method', () => {
  it('refuses another method, a method in another case, or none', async () => {
    for (const htm of ['POST', 'get', 'HEAD', undefined, ['GET']]) await refusedFor(dpopProof(KEY, claims({ htm })), 'htm');
    await refusedFor(dpopProof(KEY, claims()), 'htm', { method: 'DELETE' });
  });
});

describe('§4.3 point 9: htu is the request URI, without query and fragment', () => {
  it('ignores the query and fragment of both', async () => {
    await accepted(dpopProof(KEY, claims({ htu: `${RFC_URL}?a=1#top` })));
    await accepted(dpopProof(KEY, claims()), { url: `${RFC_URL}?page=2` });
  });

  it('compares after syntax- and scheme-based normalisation (RFC 3986 §6.2.2, §6.2.3)', async () => {
    for (const htu of [
      'HTTPS://Resource.Example.ORG/protectedresource',
      'https://resource.example.org:443/protectedresource',
      'https://resource.example.org/%70rotectedresource',
      'https://resource.example.org/a/../protectedresource',
      'https://resource.example.org/./protectedresource',
    ]) {
      await accepted(dpopProof(KEY, claims({ htu })));
    }
    await accepted(dpopProof(KEY, claims({ htu: 'http://api.example/' })), { url: 'http://api.example:80' });
  });

  it('refuses another path, host, port or scheme', async () => {
    for (const htu of [
      'https://resource.example.org/otherresource',
      'https://resource.example.org/protectedresource/more',
      'https://resource.example.org/ProtectedResource',
      'https://other.example.org/protectedresource',
      'https://resource.example.org:8443/protectedresource',
      'http://resource.example.org/protectedresource',
    ]) {
      await refusedFor(dpopProof(KEY, claims({ htu })), 'htu');
    }
  });

  it('refuses what is not an absolute http(s) URI, or one the canonical path rules refuse', async () => {
    for (const htu of [
      undefined,
      42,
      '/protectedresource',
      '//resource.example.org/protectedresource',
      'ftp://resource.example.org/protectedresource',
      'https://user@resource.example.org/protectedresource',
      'https://resource.example.org/a%2Fb',
      'https://resource.example.org/protected;resource',
      'https://resource.example.org/../protectedresource',
      'https://resource.example.org\\protectedresource',
    ]) {
      await refusedFor(dpopProof(KEY, claims({ htu })), 'htu');
    }
  });
});

describe('§4.3 point 11: iat within the window', () => {
  it('accepts a proof up to the maximum age old and up to the future skew ahead', async () => {
    await accepted(dpopProof(KEY, claims({ iat: RFC_IAT - 60 })));
    await accepted(dpopProof(KEY, claims({ iat: RFC_IAT + 5 })));
    await accepted(dpopProof(KEY, claims({ iat: RFC_IAT + 0.5 })));
  });

  it('refuses one older than the maximum age, or further ahead than the skew', async () => {
    await refusedFor(dpopProof(KEY, claims({ iat: RFC_IAT - 61 })), 'iat');
    await refusedFor(dpopProof(KEY, claims({ iat: RFC_IAT + 6 })), 'iat');
  });

  it('follows the configured window', async () => {
    const proof = dpopProof(KEY, claims({ iat: RFC_IAT - 100 }));
    await refusedFor(proof, 'iat');
    await accepted(proof, {}, KEY, { maxAgeSeconds: 120 });
    await refusedFor(dpopProof(KEY, claims({ iat: RFC_IAT + 1 })), 'iat', {}, { futureSkewSeconds: 0 });
  });

  it('refuses a missing or non-numeric iat', async () => {
    for (const iat of [undefined, String(RFC_IAT), null, [RFC_IAT]]) await refusedFor(dpopProof(KEY, claims({ iat })), 'iat');
  });
});

describe('§4.3 point 12: ath is the hash of the access token', () => {
  it('refuses a missing ath, or the hash of another token', async () => {
    await refusedFor(dpopProof(KEY, claims({ ath: undefined })), 'ath');
    await refusedFor(dpopProof(KEY, claims({ ath: tokenHash(`${RFC_TOKEN}x`) })), 'ath');
    await refusedFor(dpopProof(KEY, claims()), 'ath', { accessToken: 'another-token' });
  });

  it('does not require ath when no token is presented', async () => {
    await accepted(dpopProof(KEY, claims({ ath: undefined })), { accessToken: undefined });
  });
});

describe('§4.3 point 12, §6.1: the proof key is the one the token is bound to', () => {
  it('refuses a valid proof of another key than the token cnf.jkt, as invalid_token', async () => {
    const result = await verifyDpopProof(request(dpopProof(OTHER_KEY, claims())), settings());
    assertRefused(result, 'thumbprint', 'dpop_token_invalid');
    assert.ok(!result.ok);
    assert.deepEqual(result.denial.headers, [['www-authenticate', 'DPoP realm="portcullis", error="invalid_token", algs="ES256 EdDSA"']]);
  });
});

describe('§4.3 point 10, §9: the server nonce', () => {
  const nonce = { current: 'eyJ7S_zG.eyJH0-Z.HX4w-7v', previous: 'older-nonce' };

  it('refuses a proof without the nonce with use_dpop_nonce and the nonce to use', async () => {
    const result = await verifyDpopProof(request(dpopProof(KEY, claims()), { nonce }), settings());
    assertRefused(result, 'nonce', 'dpop_nonce_required');
    assert.ok(!result.ok);
    assert.deepEqual(result.denial.headers, [
      ['www-authenticate', 'DPoP realm="portcullis", error="use_dpop_nonce", algs="ES256 EdDSA"'],
      ['dpop-nonce', nonce.current],
    ]);
  });

  it('refuses a wrong nonce and accepts the current one and, while rotating, the previous one', async () => {
    assertRefused(await verifyDpopProof(request(dpopProof(KEY, claims({ nonce: 'guess' })), { nonce }), settings()), 'nonce', 'dpop_nonce_required');
    await accepted(dpopProof(KEY, claims({ nonce: nonce.current })), { nonce });
    await accepted(dpopProof(KEY, claims({ nonce: nonce.previous })), { nonce });
    assertRefused(await verifyDpopProof(request(dpopProof(KEY, claims({ nonce: nonce.previous })), { nonce: { current: nonce.current } }), settings()), 'nonce', 'dpop_nonce_required');
  });

  it('ignores a nonce the server does not require', async () => {
    await accepted(dpopProof(KEY, claims({ nonce: 'whatever' })));
  });
});

describe('§11.1: a proof is accepted once', () => {
  it('refuses the same proof a second time, as dpop_proof_replayed', async () => {
    const shared = settings();
    const proof = dpopProof(KEY, claims());
    assert.equal((await verifyDpopProof(request(proof), shared)).ok, true);
    const again = await verifyDpopProof(request(proof, { now: NOW + 30_000 }), shared);
    assertRefused(again, 'replayed', 'dpop_proof_replayed');
    assert.ok(!again.ok);
    assert.deepEqual(again.denial.headers, [['www-authenticate', 'DPoP realm="portcullis", error="invalid_dpop_proof", algs="ES256 EdDSA"']]);
  });

  it('refuses the same jti from the same key in a new proof, and lets another key use it', async () => {
    const shared = settings();
    assert.equal((await verifyDpopProof(request(dpopProof(KEY, claims())), shared)).ok, true);
    assertRefused(await verifyDpopProof(request(dpopProof(KEY, claims({ iat: RFC_IAT + 1 })), { now: NOW + 1000 }), shared), 'replayed', 'dpop_proof_replayed');
    assert.equal((await verifyDpopProof(request(dpopProof(OTHER_KEY, claims()), {}, OTHER_KEY), shared)).ok, true);
  });

  it('remembers only accepted proofs, so refused ones take no room', async () => {
    const cache = new JtiReplayCache(1);
    const tight = settings({ replayCache: cache });
    for (const htm of ['POST', 'PUT', 'PATCH']) assertRefused(await verifyDpopProof(request(dpopProof(KEY, claims({ htm, jti: htm }))), tight), 'htm');
    assert.equal(cache.size, 0);
    assert.equal((await verifyDpopProof(request(dpopProof(KEY, claims())), tight)).ok, true);
    assert.equal(cache.size, 1);
  });

  it('refuses with 503 and Retry-After when the cache is full of live entries, instead of forgetting one', async () => {
    const tight = settings({ replayCache: new JtiReplayCache(2) });
    assert.equal((await verifyDpopProof(request(dpopProof(KEY, claims({ jti: 'a' }))), tight)).ok, true);
    assert.equal((await verifyDpopProof(request(dpopProof(KEY, claims({ jti: 'b' }))), tight)).ok, true);
    const full = await verifyDpopProof(request(dpopProof(KEY, claims({ jti: 'c' })), { now: NOW + 20_000 }), tight);
    assertRefused(full, 'replayCacheFull', 'dpop_replay_cache_full');
    assert.ok(!full.ok);
    assert.deepEqual(full.denial.headers, [['retry-after', '40']], 'the oldest entry leaves 60 s after its iat');
    assertRefused(await verifyDpopProof(request(dpopProof(KEY, claims({ jti: 'a' })), { now: NOW + 20_000 }), tight), 'replayed', 'dpop_proof_replayed');
    // Once the window of "a" and "b" has passed, there is room again (and they are refused by iat).
    assert.equal((await verifyDpopProof(request(dpopProof(KEY, claims({ jti: 'c', iat: RFC_IAT + 61 })), { now: NOW + 61_000 }), tight)).ok, true);
  });
});

describe('createDpopProofSettings', () => {
  it('refuses, at start, algorithms that are not asymmetric ones it supports', () => {
    for (const algorithms of [['none'], ['HS256'], ['ES256', 'RS256'], []]) {
      assert.throws(() => createDpopProofSettings({ algorithms, replayCache: new JtiReplayCache(1) }), /Invalid DPoP algorithm/);
    }
  });

  it('refuses windows out of range', () => {
    for (const window of [{ maxAgeSeconds: 0 }, { maxAgeSeconds: 601 }, { maxAgeSeconds: 1.5 }, { futureSkewSeconds: -1 }, { futureSkewSeconds: 301 }]) {
      assert.throws(() => createDpopProofSettings({ ...window, replayCache: new JtiReplayCache(1) }), RangeError);
    }
  });

  it('lists the accepted algorithms in every challenge (RFC 9449 §7.1)', () => {
    const { refusals } = createDpopProofSettings({ algorithms: ['ES256', 'EdDSA', 'ES256'], replayCache: new JtiReplayCache(1) });
    assert.deepEqual(refusals.proof.htu.headers, [['www-authenticate', 'DPoP realm="portcullis", error="invalid_dpop_proof", algs="ES256 EdDSA"']]);
    assert.deepEqual(refusals.token.expired.headers, [['www-authenticate', 'DPoP realm="portcullis", error="invalid_token", algs="ES256 EdDSA"']]);
    assert.equal(refusals.token.expired.code, 'dpop_token_expired');
    for (const denial of [...Object.values(refusals.proof), ...Object.values(refusals.token)]) assert.doesNotMatch(denial.detail, /[\\]/);
  });
});
