import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseSigningKey, type SigningKey } from '../../keys/signing-key.ts';
import { bodyMatches, parseContentDigest } from './content-digest.ts';
import { signatureBase, type SignedRequestView } from './signature-base.ts';
import { verifySignatureBase } from './signature-algorithms.ts';
import { readPresentedSignatures, type PresentedSignature } from './signature-fields.ts';

// Test vectors of RFC 9421 Appendix B (keys of B.1, cases of B.2) and the `test-request` message
// they sign, with the RFC 8792 line wrapping undone. The signatures are the RFC's own: RSA-PSS and
// ECDSA are randomised, so only verifying them is reproducible; Ed25519 is deterministic.

const TEST_KEY_RSA_PSS = `-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAr4tmm3r20Wd/PbqvP1s2
+QEtvpuRaV8Yq40gjUR8y2Rjxa6dpG2GXHbPfvMs8ct+Lh1GH45x28Rw3Ry53mm+
oAXjyQ86OnDkZ5N8lYbggD4O3w6M6pAvLkhk95AndTrifbIFPNU8PPMO7OyrFAHq
gDsznjPFmTOtCEcN2Z1FpWgchwuYLPL+Wokqltd11nqqzi+bJ9cvSKADYdUAAN5W
Utzdpiy6LbTgSxP7ociU4Tn0g5I6aDZJ7A8Lzo0KSyZYoA485mqcO0GVAdVw9lq4
aOT9v6d+nb4bnNkQVklLQ3fVAvJm+xdDOp9LCNCN48V2pnDOkFV6+U9nV5oyc6XI
2wIDAQAB
-----END PUBLIC KEY-----
`;
const TEST_KEY_ECC_P256 = `-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEqIVYZVLCrPZHGHjP17CTW0/+D9Lf
w0EkjqF7xB4FivAxzic30tMM4GF+hR6Dxh71Z50VGGdldkkDXZCnTNnoXQ==
-----END PUBLIC KEY-----
`;
const TEST_KEY_ED25519 = `-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEAJrQLj5P/89iXES9+vFgrIy29clF9CC/oPPsw3c5D0bs=
-----END PUBLIC KEY-----
`;

const CONTENT_DIGEST = 'sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:';
const BODY = '{"hello": "world"}';

/** `test-request` of RFC 9421 Appendix B.2, plus the signature fields of one case. */
function testRequest(signatureInput: string, signature: string): SignedRequestView {
  return {
    method: 'POST',
    scheme: 'https',
    host: 'example.com',
    target: '/foo?param=Value&Pet=dog',
    rawHeaders: [
      'Host', 'example.com', 'Date', 'Tue, 20 Apr 2021 02:07:55 GMT', 'Content-Type', 'application/json',
      'Content-Digest', CONTENT_DIGEST, 'Content-Length', '18', 'Signature-Input', signatureInput, 'Signature', signature,
    ],
  };
}

function key(pem: string): SigningKey {
  const parsed = parseSigningKey(pem);
  assert.ok(parsed !== null);
  return parsed;
}

function onlySignature(signatureInput: string, signature: string): PresentedSignature {
  const presented = readPresentedSignatures(signatureInput, signature);
  assert.ok(Array.isArray(presented), String(presented));
  assert.equal(presented.length, 1);
  return presented[0] as PresentedSignature;
}

/** Reads the case, rebuilds its base from `test-request` and verifies the RFC's signature; returns the base. */
function verifiedBase(signingKey: SigningKey, signatureInput: string, signature: string): string {
  const presented = onlySignature(signatureInput, signature);
  const base = signatureBase(presented, testRequest(signatureInput, signature));
  assert.equal(typeof base, 'string');
  assert.equal(verifySignatureBase(signingKey.algorithm, signingKey.key, base as string, presented.signature), true);
  // The same signature over a base that differs in one byte does not verify.
  assert.equal(verifySignatureBase(signingKey.algorithm, signingKey.key, (base as string).replace('"@signature-params"', '"@signature-paramz"'), presented.signature), false);
  return base as string;
}

describe('RFC 9421 Appendix B test vectors', () => {
  it('the test keys of B.1 are read with the algorithm each is used with', () => {
    assert.equal(key(TEST_KEY_RSA_PSS).algorithm, 'rsa-pss-sha512');
    assert.equal(key(TEST_KEY_ECC_P256).algorithm, 'ecdsa-p256-sha256');
    assert.equal(key(TEST_KEY_ED25519).algorithm, 'ed25519');
  });

  it('B.2.1 minimal signature (rsa-pss-sha512): the base is the signature parameters alone', () => {
    const input = 'sig-b21=();created=1618884473;keyid="test-key-rsa-pss";nonce="b3k2pp5k7z-50gnwp.yemd"';
    const signature = 'sig-b21=:d2pmTvmbncD3xQm8E9ZV2828BjQWGgiwAaw5bAkgibUopemLJcWDy/lkbbHAve4cRAtx31Iq786U7it++wgGxbtRxf8Udx7zFZsckzXaJMkA7ChG52eSkFxykJeNqsrWH5S+oxNFlD4dzVuwe8DhTSja8xxbR/Z2cOGdCbzR72rgFWhzx2VjBqJzsPLMIQKhO4DGezXehhWwE56YCE+O6c0mKZsfxVrogUvA4HELjVKWmAvtl6UnCh8jYzuVG5WSb/QEVPnP5TmcAnLH1g+s++v6d4s8m0gCw1fV5/SITLq9mhho8K3+7EPYTU8IU1bLhdxO5Nyt8C8ssinQ98Xw9Q==:';
    assert.equal(verifiedBase(key(TEST_KEY_RSA_PSS), input, signature), '"@signature-params": ();created=1618884473;keyid="test-key-rsa-pss";nonce="b3k2pp5k7z-50gnwp.yemd"');
    const presented = onlySignature(input, signature);
    assert.deepEqual([presented.created, presented.nonce, presented.keyid, presented.alg], [1618884473, 'b3k2pp5k7z-50gnwp.yemd', 'test-key-rsa-pss', null]);
  });

  it('B.2.2 selective coverage uses @query-param;name=…, a component parameter the gateway refuses', () => {
    const presented = readPresentedSignatures('sig-b22=("@authority" "content-digest" "@query-param";name="Pet");created=1618884473;keyid="test-key-rsa-pss";tag="header-example"', 'sig-b22=:AAAA:');
    assert.equal(presented, 'Signature-Input sig-b22 uses component parameters, which the gateway does not support');
  });

  it('B.2.3 full coverage (rsa-pss-sha512): @method, @path, @query, @authority and fields', () => {
    const input = 'sig-b23=("date" "@method" "@path" "@query" "@authority" "content-type" "content-digest" "content-length");created=1618884473;keyid="test-key-rsa-pss"';
    const signature = 'sig-b23=:bbN8oArOxYoyylQQUU6QYwrTuaxLwjAC9fbY2F6SVWvh0yBiMIRGOnMYwZ/5MR6fb0Kh1rIRASVxFkeGt683+qRpRRU5p2voTp768ZrCUb38K0fUxN0O0iC59DzYx8DFll5GmydPxSmme9v6ULbMFkl+V5B1TP/yPViV7KsLNmvKiLJH1pFkh/aYA2HXXZzNBXmIkoQoLd7YfW91kE9o/CCoC1xMy7JA1ipwvKvfrs65ldmlu9bpG6A9BmzhuzF8Eim5f8ui9eH8LZH896+QIF61ka39VBrohr9iyMUJpvRX2Zbhl5ZJzSRxpJyoEZAFL2FUo5fTIztsDZKEgM4cUA==:';
    assert.equal(verifiedBase(key(TEST_KEY_RSA_PSS), input, signature), [
      '"date": Tue, 20 Apr 2021 02:07:55 GMT',
      '"@method": POST',
      '"@path": /foo',
      '"@query": ?param=Value&Pet=dog',
      '"@authority": example.com',
      '"content-type": application/json',
      `"content-digest": ${CONTENT_DIGEST}`,
      '"content-length": 18',
      '"@signature-params": ("date" "@method" "@path" "@query" "@authority" "content-type" "content-digest" "content-length");created=1618884473;keyid="test-key-rsa-pss"',
    ].join('\n'));
  });

  it('B.2.4 (ecdsa-p256-sha256, a response): the r‖s signature verifies over its base; @status is not computed for a request', () => {
    const base = [
      '"@status": 200',
      '"content-type": application/json',
      '"content-digest": sha-512=:mEWXIS7MaLRuGgxOBdODa3xqM1XdEvxoYhvlCFJ41QJgJc4GTsPp29l5oGX69wWdXymyU0rjJuahq4l5aGgfLQ==:',
      '"content-length": 23',
      '"@signature-params": ("@status" "content-type" "content-digest" "content-length");created=1618884473;keyid="test-key-ecc-p256"',
    ].join('\n');
    const input = 'sig-b24=("@status" "content-type" "content-digest" "content-length");created=1618884473;keyid="test-key-ecc-p256"';
    const presented = onlySignature(input, 'sig-b24=:wNmSUAhwb5LxtOtOpNa6W5xj067m5hFrj0XQ4fvpaCLx0NKocgPquLgyahnzDnDAUy5eCdlYUEkLIj+32oiasw==:');
    const ecc = key(TEST_KEY_ECC_P256);
    assert.equal(presented.signatureParams, base.slice(base.lastIndexOf('(')));
    assert.equal(verifySignatureBase(ecc.algorithm, ecc.key, base, presented.signature), true);
    assert.equal(verifySignatureBase(ecc.algorithm, ecc.key, base.replace('200', '201'), presented.signature), false);
    assert.deepEqual(signatureBase(presented, testRequest(input, '')), { problem: 'covers @status, which the gateway does not compute for a request' });
  });

  it('B.2.6 signing a request with ed25519: base rebuilt and the deterministic signature verified', () => {
    const input = 'sig-b26=("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519"';
    const signature = 'sig-b26=:wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw==:';
    assert.equal(verifiedBase(key(TEST_KEY_ED25519), input, signature), [
      '"date": Tue, 20 Apr 2021 02:07:55 GMT',
      '"@method": POST',
      '"@path": /foo',
      '"@authority": example.com',
      '"content-type": application/json',
      '"content-length": 18',
      '"@signature-params": ("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519"',
    ].join('\n'));
    // Another key of the same type does not verify it.
    const other = key('-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n-----END PUBLIC KEY-----\n');
    const presented = onlySignature(input, signature);
    assert.equal(verifySignatureBase('ed25519', other.key, signatureBase(presented, testRequest(input, signature)) as string, presented.signature), false);
  });

  it('the Content-Digest of test-request (RFC 9530 sha-512) matches its body, and no other', () => {
    const expected = parseContentDigest(CONTENT_DIGEST);
    assert.ok(expected !== null);
    assert.equal(expected.algorithm, 'sha512');
    assert.equal(bodyMatches(Buffer.from(BODY), expected), true);
    assert.equal(bodyMatches(Buffer.from('{"hello": "World"}'), expected), false);
  });
});
