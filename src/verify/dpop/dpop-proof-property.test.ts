/**
 * Properties of `verifyDpopProof`: a valid proof with any single field changed is refused,
 * whether the change is made in flight (the signature kept) or the proof is re-signed by its
 * own key with a field that binds it to the request changed; and so is one with any single
 * signature byte changed.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { dpopProof, proofHeader, proofKey, signProof, thumbprintOf, tokenHash } from '../../../test/support/dpop-proofs.ts';
import { createDpopProofSettings, verifyDpopProof, type DpopProofRequest } from './dpop-proof.ts';
import { JtiReplayCache } from './jti-replay-cache.ts';
import { normaliseHttpUri } from './proof-target.ts';

const KEY = proofKey('ES256');
const TOKEN = 'access-token-for-the-property-test';
const URL = 'https://api.example/v1/orders/42';
const NOW = 1_750_000_000_000;
const NONCE = 'server-nonce-1';

const CLAIMS: Readonly<Record<string, unknown>> = { jti: 'jti-property-1', htm: 'PATCH', htu: URL, iat: NOW / 1000 - 3, ath: tokenHash(TOKEN), nonce: NONCE };
const HEADER = proofHeader(KEY);
const REQUEST: Omit<DpopProofRequest, 'proof'> = { method: 'PATCH', url: URL, accessToken: TOKEN, expectedThumbprint: thumbprintOf(KEY), now: NOW, nonce: { current: NONCE } };

/** Settings with an empty replay cache, so a refusal is never a replay of an earlier run. */
function freshSettings() {
  return createDpopProofSettings({ algorithms: ['ES256', 'EdDSA'], replayCache: new JtiReplayCache(100) });
}

async function isAccepted(proof: string): Promise<boolean> {
  return (await verifyDpopProof({ ...REQUEST, proof }, freshSettings())).ok;
}

/** Every field of the proof as a path: `header.alg`, `header.jwk.x`, `claims.htu`… */
const FIELDS = [
  ...Object.keys(HEADER).filter((name) => name !== 'jwk').map((name) => ['header', name]),
  ...Object.keys(KEY.publicJwk).map((name) => ['header', 'jwk', name]),
  ...Object.keys(CLAIMS).map((name) => ['claims', name]),
] as const;

const DELETE = Symbol('delete');
const replacement = fc.oneof(fc.string(), fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.array(fc.string(), { maxLength: 2 }), fc.constant(DELETE));

function withField(object: Readonly<Record<string, unknown>>, path: readonly string[], value: unknown): Record<string, unknown> {
  const [first, ...rest] = path as [string, ...string[]];
  const copy = { ...object };
  const next = rest.length === 0 ? value : withField(copy[first] as Record<string, unknown>, rest, value);
  if (next === DELETE) delete copy[first];
  else copy[first] = next;
  return copy;
}

function valueAt(object: Readonly<Record<string, unknown>>, path: readonly string[]): unknown {
  return path.reduce<unknown>((at, name) => (at as Record<string, unknown>)[name], object);
}

const encode = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

describe('verifyDpopProof, properties', () => {
  const valid = dpopProof(KEY, CLAIMS);

  it('accepts the proof the properties start from', async () => {
    assert.equal(await isAccepted(valid), true);
  });

  it('refuses the proof with any one header or claim changed in flight (signature kept)', async () => {
    const [headerPart, claimsPart, signature] = valid.split('.') as [string, string, string];
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...FIELDS), replacement, async ([part, ...path], value) => {
        const original = part === 'header' ? HEADER : CLAIMS;
        fc.pre(value === DELETE || JSON.stringify(value) !== JSON.stringify(valueAt(original, path)));
        const changed = encode(withField(original, path, value));
        const proof = part === 'header' ? `${changed}.${claimsPart}.${signature}` : `${headerPart}.${changed}.${signature}`;
        assert.equal(await isAccepted(proof), false, `${part}.${path.join('.')} = ${String(value)}`);
      }),
      { numRuns: 300 },
    );
  });

  it('refuses the proof re-signed by its own key with a field that binds it to the request changed', async () => {
    const binding = ['typ', 'alg', 'htm', 'htu', 'ath', 'nonce'] as const;
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...binding), fc.oneof(replacement, fc.webUrl()), async (field, value) => {
        const inHeader = field === 'typ' || field === 'alg';
        const original = inHeader ? HEADER[field] : CLAIMS[field];
        fc.pre(value !== original);
        // Another spelling of the same URI is the same htu (RFC 9449 §4.3 point 9).
        fc.pre(!(field === 'htu' && typeof value === 'string' && normaliseHttpUri(value) === normaliseHttpUri(URL)));
        const proof = inHeader ? signProof(KEY, withField(HEADER, [field], value), CLAIMS) : signProof(KEY, HEADER, withField(CLAIMS, [field], value));
        assert.equal(await isAccepted(proof), false, `${field} = ${String(value)}`);
      }),
      { numRuns: 300 },
    );
  });

  it('refuses the proof re-signed with an iat outside the window', async () => {
    const outside = fc.oneof(fc.integer({ min: -1e9, max: NOW / 1000 - 61 }), fc.integer({ min: NOW / 1000 + 6, max: 1e11 }));
    await fc.assert(
      fc.asyncProperty(outside, async (iat) => {
        assert.equal(await isAccepted(signProof(KEY, HEADER, { ...CLAIMS, iat })), false);
      }),
      { numRuns: 100 },
    );
  });

  it('refuses the proof with any one signature byte changed', async () => {
    const [headerPart, claimsPart, signature] = valid.split('.') as [string, string, string];
    const bytes = Buffer.from(signature, 'base64url');
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: bytes.length - 1 }), fc.integer({ min: 1, max: 255 }), async (index, flip) => {
        const changed = Buffer.from(bytes);
        changed[index]! ^= flip;
        assert.equal(await isAccepted(`${headerPart}.${claimsPart}.${changed.toString('base64url')}`), false);
      }),
      { numRuns: 200 },
    );
  });
});
