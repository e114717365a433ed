/**
 * The requests of the `dpop` and `signed-requests` rows: each one new (its own proof `jti`, its
 * own signature nonce), each valid for the URL it is made for, and each fit for the list file.
 */
import assert from 'node:assert/strict';
import { createPublicKey, generateKeyPairSync, verify } from 'node:crypto';
import { describe, it } from 'node:test';
import { proofKey, tokenHash } from '../test/support/dpop-proofs.ts';
import { BENCH_PAGE_ORIGIN, dpopRequests, signedRequests } from './possession-rows.ts';
import type { DpopSession, SigningService } from './possession-rows.ts';
import { headerListText } from './wrk.ts';

function decode(part: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>;
}

describe('dpopRequests', () => {
  const sessions: DpopSession[] = ['token.one.x', 'token.two.y'].map((token) => ({ key: proofKey('ES256'), token, ath: tokenHash(token) }));

  it('gives each request its own proof, signed by its token\'s key, for the method, URL and token', () => {
    const requests = [...dpopRequests(sessions, 'http://127.0.0.1:8080/', 6)];
    assert.equal(requests.length, 6);
    const jtis = new Set<unknown>();
    requests.forEach((headers, index) => {
      const session = sessions[index % 2]!;
      assert.equal(headers.Authorization, `DPoP ${session.token}`);
      assert.equal(headers.Origin, BENCH_PAGE_ORIGIN);
      const [header, claims, signature] = headers.DPoP!.split('.') as [string, string, string];
      assert.deepEqual(decode(header), { typ: 'dpop+jwt', alg: 'ES256', jwk: session.key.publicJwk });
      const payload = decode(claims);
      assert.deepEqual([payload.htm, payload.htu, payload.ath], ['GET', 'http://127.0.0.1:8080/', session.ath]);
      jtis.add(payload.jti);
      const publicKey = createPublicKey({ key: session.key.publicJwk as never, format: 'jwk' });
      assert.ok(verify('sha256', Buffer.from(`${header}.${claims}`), { key: publicKey, dsaEncoding: 'ieee-p1363' }, Buffer.from(signature, 'base64url')));
    });
    assert.equal(jtis.size, 6, 'no jti repeats');
    assert.doesNotThrow(() => headerListText(requests));
  });

  it('refuses to make requests without a token', () => {
    assert.throws(() => [...dpopRequests([], 'http://127.0.0.1:8080/', 1)], /no tokens/);
  });
});

describe('signedRequests', () => {
  const services: SigningService[] = [0, 1, 2].map((index) => ({ id: `key_${index}`, key: `pcl_${index}`, privateKey: generateKeyPairSync('ed25519').privateKey }));

  it('signs each request anew (its own nonce) with its key\'s private key, naming the key', () => {
    const requests = [...signedRequests(services, 'http://127.0.0.1:8080/', 7)];
    const nonces = new Set<string>();
    requests.forEach((headers, index) => {
      const service = services[index % 3]!;
      assert.equal(headers.Authorization, `Bearer ${service.key}`);
      const input = headers['Signature-Input']!;
      assert.match(input, /^sig1=\("@method" "@target-uri"\);created=\d+;keyid="key_\d";nonce="[A-Za-z0-9_-]{22}";alg="ed25519"$/);
      assert.ok(input.includes(`keyid="${service.id}"`));
      nonces.add(/nonce="([^"]+)"/.exec(input)![1]!);
      const params = input.slice('sig1='.length);
      const base = `"@method": GET\n"@target-uri": http://127.0.0.1:8080/\n"@signature-params": ${params}`;
      const signature = Buffer.from(/^sig1=:([^:]+):$/.exec(headers.Signature!)![1]!, 'base64');
      assert.ok(verify(null, Buffer.from(base), createPublicKey(service.privateKey), signature), 'the signature verifies over the RFC 9421 base');
    });
    assert.equal(nonces.size, 7, 'no nonce repeats');
    assert.doesNotThrow(() => headerListText(requests));
  });
});
