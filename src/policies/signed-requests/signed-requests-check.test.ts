import assert from 'node:assert/strict';
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { describe, it } from 'node:test';
import { signRequest } from '../../../packages/node-signer/src/index.ts';
import type { Denial } from '../../http/error-catalogue.ts';
import { BodyRefusedError } from '../../http/request-body.ts';
import { fakeContext, fakeKey } from '../../../test/support/fake-context.ts';
import type { RequestContext } from '../request-context.ts';
import type { ExpectedDigest } from './content-digest.ts';
import { createSignedBodyCheck } from './signed-body-check.ts';
import { SignedRequestsCheck, type SignedRequestsOptions } from './signed-requests-check.ts';

const NOW = Date.parse('2026-12-01T12:00:00Z');
const CREATED = NOW / 1000;
const OPTIONS: SignedRequestsOptions = { maxAge: 60_000, clockSkew: 10_000, replayCacheSize: 1000, scheme: 'auto' };
const KEY_ID = 'key_signed';

function pair(type: 'ed25519' | 'ec' | 'rsa'): { privateKey: KeyObject; publicPem: string } {
  const { privateKey, publicKey } = type === 'ec'
    ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
    : type === 'rsa' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ed25519');
  return { privateKey, publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}

const ED25519 = pair('ed25519');

interface Setup {
  check: SignedRequestsCheck;
  body: ReturnType<typeof createSignedBodyCheck>;
  unusable: string[];
}

function setup(options: Partial<SignedRequestsOptions> = {}): Setup {
  const digests = new WeakMap<RequestContext, ExpectedDigest>();
  const unusable: string[] = [];
  return { check: new SignedRequestsCheck({ ...OPTIONS, ...options }, digests, (keyId) => unusable.push(keyId)), body: createSignedBodyCheck(digests), unusable };
}

interface Sent {
  method?: string;
  url?: string;
  host?: string;
  body?: string | string[];
  headers?: string[];
}

/** The context for a request as sent (`Host` and extra header lines), made with a key bound to `publicPem`. */
function request(sent: Sent, signed: Record<string, string> | null, publicPem: string | null = ED25519.publicPem): RequestContext & { res: unknown } {
  const headers = ['Host', sent.host ?? 'api.example', ...(sent.headers ?? [])];
  for (const [name, value] of Object.entries(signed ?? {})) headers.push(name, value);
  const bodyText = Array.isArray(sent.body) ? sent.body.join('') : sent.body;
  if (bodyText !== undefined) headers.push('Content-Length', String(Buffer.byteLength(bodyText)));
  return fakeContext({ method: sent.method ?? 'GET', url: sent.url ?? '/orders?page=2', headers, ...(sent.body === undefined ? {} : { body: sent.body }) }, { key: fakeKey({ id: KEY_ID, signingKey: publicPem }), now: NOW });
}

function signed(privateKey: KeyObject, overrides: Partial<Parameters<typeof signRequest>[0]> = {}): Record<string, string> {
  return { ...signRequest({ method: 'GET', url: 'http://api.example/orders?page=2', privateKey, keyId: KEY_ID, created: CREATED, ...overrides }) };
}

function code(result: unknown): string | null {
  return result === null ? null : (result as Denial).code;
}

/** A signature over exactly these components and parameters, for what the signer would never make. */
function handMade(privateKey: KeyObject, lines: string[], params: string): Record<string, string> {
  const base = [...lines, `"@signature-params": ${params}`].join('\n');
  return { 'Signature-Input': `sig1=${params}`, Signature: `sig1=:${sign(null, Buffer.from(base), privateKey).toString('base64')}:` };
}

describe('signed-requests check (RFC 9421)', () => {
  it('passes keys without a signing key, and a request signed with each supported algorithm', () => {
    const { check } = setup();
    assert.equal(check.run(request({}, null, null)), null);
    for (const type of ['ed25519', 'ec', 'rsa'] as const) {
      const keys = pair(type);
      assert.equal(check.run(request({}, signed(keys.privateKey), keys.publicPem)), null, type);
    }
  });

  it('refuses the key alone (401 signature_missing, with a challenge) and half a signature', () => {
    const { check } = setup();
    const missing = check.run(request({}, null)) as Denial;
    assert.deepEqual([missing.code, missing.status], ['signature_missing', 401]);
    assert.deepEqual(missing.headers, [['www-authenticate', 'Bearer realm="portcullis", error="invalid_token"']]);
    const headers = signed(ED25519.privateKey);
    assert.equal(code(check.run(request({}, { 'Signature-Input': headers['signature-input'] as string }))), 'signature_invalid');
    assert.equal(code(check.run(request({}, { 'Signature-Input': 'sig1=("@method"', Signature: 'sig1=:AA==:' }))), 'signature_invalid');
  });

  it('refuses a signature made with another key', () => {
    const { check } = setup();
    const denial = check.run(request({}, signed(pair('ed25519').privateKey))) as Denial;
    assert.equal(denial.code, 'signature_invalid');
    assert.match(denial.detail, /does not verify/);
    assert.equal(code(check.run(request({}, signed(pair('ec').privateKey)))), 'signature_invalid');
  });

  it('refuses a signature over another method, path, query, host or scheme', () => {
    const { check } = setup();
    const headers = signed(ED25519.privateKey);
    assert.equal(code(check.run(request({ method: 'DELETE' }, headers))), 'signature_invalid');
    assert.equal(code(check.run(request({ url: '/admin?page=2' }, headers))), 'signature_invalid');
    assert.equal(code(check.run(request({ url: '/orders?page=3' }, headers))), 'signature_invalid');
    assert.equal(code(check.run(request({ host: 'evil.example' }, headers))), 'signature_invalid');
    assert.equal(code(setup({ scheme: 'https' }).check.run(request({}, headers))), 'signature_invalid');
    // The untouched request still passes: the refusals above were about the change.
    assert.equal(check.run(request({}, headers)), null);
  });

  it('refuses a replayed signature within the window, also when a nonce is not sent', () => {
    const { check } = setup();
    const headers = signed(ED25519.privateKey);
    assert.equal(check.run(request({}, headers)), null);
    const replayed = check.run(request({}, headers)) as Denial;
    assert.deepEqual([replayed.code, replayed.status], ['signature_replayed', 401]);
    const params = `("@method" "@target-uri");created=${CREATED}`;
    const noNonce = handMade(ED25519.privateKey, ['"@method": GET', '"@target-uri": http://api.example/orders?page=2'], params);
    assert.equal(check.run(request({}, noNonce)), null);
    assert.equal(code(check.run(request({}, noNonce))), 'signature_replayed');
    // A new signature (a new nonce) for the same request is accepted.
    assert.equal(check.run(request({}, signed(ED25519.privateKey))), null);
  });

  it('refuses signatures created outside the window, expired, or without created', () => {
    const { check } = setup();
    assert.equal(code(check.run(request({}, signed(ED25519.privateKey, { created: CREATED - 61 })))), 'signature_expired');
    assert.equal(code(check.run(request({}, signed(ED25519.privateKey, { created: CREATED + 11 })))), 'signature_expired');
    assert.equal(check.run(request({}, signed(ED25519.privateKey, { created: CREATED - 59 }))), null);
    const target = ['"@method": GET', '"@target-uri": http://api.example/orders?page=2'];
    assert.equal(code(check.run(request({}, handMade(ED25519.privateKey, target, `("@method" "@target-uri");created=${CREATED};expires=${CREATED - 1}`)))), 'signature_expired');
    assert.equal(code(check.run(request({}, handMade(ED25519.privateKey, target, '("@method" "@target-uri");nonce="n1"')))), 'signature_invalid');
  });

  it('refuses a signature that covers too little, or names another alg or key id', () => {
    const { check } = setup();
    const methodOnly = check.run(request({}, handMade(ED25519.privateKey, ['"@method": GET'], `("@method");created=${CREATED}`))) as Denial;
    assert.match(methodOnly.detail, /@target-uri/);
    const parts = ['"@method": GET', '"@authority": api.example', '"@path": /orders', '"@query": ?page=2'];
    assert.equal(check.run(request({}, handMade(ED25519.privateKey, parts, `("@method" "@authority" "@path" "@query");created=${CREATED}`))), null);
    const target = ['"@method": GET', '"@target-uri": http://api.example/orders?page=2'];
    assert.equal(code(check.run(request({}, handMade(ED25519.privateKey, target, `("@method" "@target-uri");created=${CREATED};alg="ecdsa-p256-sha256"`)))), 'signature_invalid');
    assert.equal(code(check.run(request({}, signed(ED25519.privateKey, { keyId: 'key_other' })))), 'signature_invalid');
    const bodyUncovered = check.run(request({ method: 'POST', body: '{}' }, signed(ED25519.privateKey, { method: 'POST' }))) as Denial;
    assert.match(bodyUncovered.detail, /content-digest/);
  });

  it('refuses every request of a key whose stored signing key cannot be used, and says so once', () => {
    const { check, unusable } = setup();
    const context = request({}, signed(ED25519.privateKey), 'not a key');
    assert.equal(code(check.run(context)), 'signature_invalid');
    assert.equal(code(check.run(context)), 'signature_invalid');
    assert.deepEqual(unusable, [KEY_ID]);
  });
});

describe('signed request bodies (Content-Digest, RFC 9530)', () => {
  const post = (body: string | string[], signedBody: string) => request({ method: 'POST', body }, signed(ED25519.privateKey, { method: 'POST', body: signedBody }));

  it('a body read for validation is checked before anything is sent', () => {
    const { check, body } = setup();
    const good = post('{"a":1}', '{"a":1}');
    assert.equal(check.run(good), null);
    good.forwardBody = Buffer.from('{"a":1}');
    assert.equal(body.run(good), null);
    const changed = post('{"a":2}', '{"a":1}');
    assert.equal(check.run(changed), null);
    changed.forwardBody = Buffer.from('{"a":2}');
    const refused = body.run(changed) as Denial;
    assert.deepEqual([refused.code, refused.status], ['content_digest_mismatch', 401]);
  });

  it('a streamed body reaches the upstream whole when it matches', async () => {
    const { check, body } = setup();
    const context = post(['{"items":', '[1,2,3]', '}'], '{"items":[1,2,3]}');
    assert.equal(check.run(context), null);
    assert.equal(body.run(context), null);
    assert.equal(await text(context.forwardBody as Readable), '{"items":[1,2,3]}');
  });

  it('a body changed in flight fails before its last chunk is sent upstream', async () => {
    const { check, body } = setup();
    const context = post(['{"items":', '[1,2,9]', '}'], '{"items":[1,2,3]}');
    assert.equal(check.run(context), null);
    assert.equal(body.run(context), null);
    const received: string[] = [];
    const stream = context.forwardBody as Readable;
    const failure = await new Promise<unknown>((resolve) => {
      stream.on('data', (chunk: Buffer) => received.push(chunk.toString()));
      stream.once('error', resolve);
      stream.once('end', () => resolve(null));
    });
    assert.ok(failure instanceof BodyRefusedError);
    assert.equal(failure.denial.code, 'content_digest_mismatch');
    assert.equal(received.join(''), '{"items":[1,2,9]', 'the last chunk is held back');
  });

  it('an unreadable Content-Digest is refused, and a digest covered on a request without a body must be of nothing', () => {
    const { check, body } = setup();
    const md5 = 'md5=:AAAAAAAAAAAAAAAAAAAAAA==:';
    const lines = ['"@method": POST', '"@target-uri": http://api.example/orders?page=2', `"content-digest": ${md5}`];
    const headers = { ...handMade(ED25519.privateKey, lines, `("@method" "@target-uri" "content-digest");created=${CREATED}`), 'Content-Digest': md5 };
    const unreadable = check.run(request({ method: 'POST', body: '{}' }, headers)) as Denial;
    assert.equal(unreadable.code, 'content_digest_mismatch');
    assert.match(unreadable.detail, /sha-256 or sha-512/);
    const empty = request({ method: 'GET' }, signed(ED25519.privateKey, { body: '' }));
    assert.equal(check.run(empty), null);
    assert.equal(body.run(empty), null);
    const notEmpty = request({ method: 'GET' }, signed(ED25519.privateKey, { body: 'x' }));
    assert.equal(check.run(notEmpty), null);
    assert.equal(code(body.run(notEmpty)), 'content_digest_mismatch');
  });
});
