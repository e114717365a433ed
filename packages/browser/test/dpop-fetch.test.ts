import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { calculateJwkThumbprint, decodeProtectedHeader, EmbeddedJWK, jwtVerify } from 'jose';
import { createDpopFetch, type KeyPairStore } from '../src/index.ts';

/** The IndexedDB stand-in: keeps the CryptoKeyPair object as IndexedDB would (structured clone keeps it non-extractable). */
function memoryKeyStore(): KeyPairStore & { saves: number } {
  let pair: CryptoKeyPair | undefined;
  return {
    saves: 0,
    async load() {
      return pair;
    },
    async save(value) {
      this.saves++;
      pair = structuredClone(value);
    },
  };
}

interface Seen {
  method: string;
  url: string;
  authorization: string | null;
  proof: string;
  body: string;
}

/** A gateway stand-in: records what arrives and answers with `answer(n)` for the n-th request. */
function recordingFetch(answer: (index: number, seen: Seen) => Response = () => new Response('ok')): { fetch: typeof fetch; seen: Seen[] } {
  const seen: Seen[] = [];
  const fake = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const request = new Request(input, init);
    const entry = { method: request.method, url: request.url, authorization: request.headers.get('authorization'), proof: request.headers.get('dpop') ?? '', body: await request.text() };
    seen.push(entry);
    return answer(seen.length - 1, entry);
  };
  return { fetch: fake as typeof fetch, seen };
}

function sha256url(text: string): string {
  return createHash('sha256').update(text).digest('base64url');
}

async function verifiedProof(proof: string) {
  const { payload, protectedHeader } = await jwtVerify(proof, EmbeddedJWK, { typ: 'dpop+jwt', algorithms: ['ES256'] });
  return { payload, header: protectedHeader };
}

describe('@portcullis/browser createDpopFetch', () => {
  it('makes one non-extractable P-256 key, keeps it, and names it by its RFC 7638 thumbprint', async () => {
    const keyStore = memoryKeyStore();
    const { fetch } = recordingFetch();
    const first = await createDpopFetch({ getToken: async () => 'token', keyStore, fetch });
    const again = await createDpopFetch({ getToken: async () => 'token', keyStore, fetch });
    assert.equal(keyStore.saves, 1);
    assert.equal(again.jkt, first.jkt, 'the stored key is used again after a reload');
    const pair = (await keyStore.load())!;
    assert.equal(pair.privateKey.extractable, false);
    await assert.rejects(crypto.subtle.exportKey('jwk', pair.privateKey));
    await assert.rejects(crypto.subtle.exportKey('pkcs8', pair.privateKey));
    assert.equal(first.jkt, await calculateJwkThumbprint(await crypto.subtle.exportKey('jwk', pair.publicKey), 'sha256'));
  });

  it('sends the token as DPoP and a proof of RFC 9449 §4.2 for exactly this request', async () => {
    const { fetch, seen } = recordingFetch();
    const api = await createDpopFetch({ getToken: async (jkt) => `token-for-${jkt}`, keyStore: memoryKeyStore(), fetch });
    await api('https://gateway.example/orders/7?expand=items#top', { method: 'post', body: '{"n":1}' });
    await api('https://gateway.example/orders/7');
    const [post, get] = seen as [Seen, Seen];
    assert.equal(post.authorization, `DPoP token-for-${api.jkt}`);
    const { payload, header } = await verifiedProof(post.proof);
    assert.deepEqual(Object.keys(header.jwk!).sort(), ['crv', 'kty', 'x', 'y'], 'only the public members travel');
    assert.equal(await calculateJwkThumbprint(header.jwk!, 'sha256'), api.jkt);
    assert.equal(payload.htm, 'POST');
    assert.equal(payload.htu, 'https://gateway.example/orders/7', 'no query, no fragment');
    assert.equal(payload.ath, sha256url(`token-for-${api.jkt}`));
    assert.ok(Math.abs((payload.iat as number) - Date.now() / 1000) < 5);
    assert.equal(payload.nonce, undefined);
    assert.equal(post.body, '{"n":1}');
    const second = await verifiedProof(get.proof);
    assert.equal(second.payload.htm, 'GET');
    assert.notEqual(second.payload.jti, payload.jti, 'each proof is new');
    assert.equal(decodeProtectedHeader(get.proof).alg, 'ES256');
  });

  it('answers a use_dpop_nonce challenge once with the nonce, body intact, and keeps the nonce for the origin', async () => {
    const { fetch, seen } = recordingFetch((index) => index === 0
      ? new Response(null, { status: 401, headers: { 'WWW-Authenticate': 'DPoP error="use_dpop_nonce", error_description="a nonce is required"', 'DPoP-Nonce': 'n-1' } })
      : new Response('ok', { headers: { 'DPoP-Nonce': 'n-2' } }));
    const api = await createDpopFetch({ getToken: async () => 't', keyStore: memoryKeyStore(), fetch });
    const response = await api('https://gateway.example/items', { method: 'PUT', body: 'payload' });
    assert.equal(response.status, 200);
    assert.equal(seen.length, 2);
    assert.equal((await verifiedProof(seen[1]!.proof)).payload.nonce, 'n-1');
    assert.equal(seen[1]!.body, 'payload');
    await api('https://gateway.example/other');
    assert.equal((await verifiedProof(seen[2]!.proof)).payload.nonce, 'n-2', 'the latest nonce the origin sent');
  });

  it('asks the frontend server for a new token once when the token is refused, and gives up after that', async () => {
    const refused = () => new Response(null, { status: 401, headers: { 'WWW-Authenticate': 'DPoP error="invalid_token"' } });
    const { fetch, seen } = recordingFetch((index) => (index === 0 ? refused() : index === 1 ? new Response('ok') : refused()));
    let issued = 0;
    const api = await createDpopFetch({ getToken: async () => `t${++issued}`, keyStore: memoryKeyStore(), fetch });
    assert.equal((await api('https://gateway.example/a')).status, 200);
    assert.deepEqual(seen.map((entry) => entry.authorization), ['DPoP t1', 'DPoP t2']);
    assert.equal((await api('https://gateway.example/a')).status, 401, 'a refused new token is the answer, not a loop');
    assert.equal(issued, 3);
    assert.equal(seen.length, 4);
  });

  it('does not retry other refusals, and asks for a token again after getToken failed', async () => {
    const { fetch, seen } = recordingFetch(() => new Response(null, { status: 401, headers: { 'WWW-Authenticate': 'Bearer error="invalid_token"' } }));
    let calls = 0;
    const api = await createDpopFetch({ getToken: async () => { if (++calls === 1) throw new Error('frontend down'); return 't'; }, keyStore: memoryKeyStore(), fetch });
    await assert.rejects(api('https://gateway.example/a'), /frontend down/);
    assert.equal((await api('https://gateway.example/a')).status, 401);
    assert.equal(seen.length, 1, 'a Bearer challenge is not the gateway asking for a DPoP retry');
    assert.equal(calls, 2);
  });
});
