import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { createCertificateAuthority, issueClientCertificate } from '../certs/dev-certificates.ts';
import { AdminProblem } from './admin-problems.ts';
import { checkedSettings, newKeySettings } from './key-settings-body.ts';

const NOW = Date.parse('2026-01-01T00:00:00Z');

function refusal(body: Parameters<typeof checkedSettings>[0]): Array<[string, string]> {
  try {
    checkedSettings(body, NOW);
  } catch (error) {
    assert.ok(error instanceof AdminProblem);
    assert.equal(error.code, 'request_invalid');
    return (error.errors ?? []).map((entry) => [entry.pointer, entry.message]);
  }
  assert.fail('expected a refusal');
}

describe('key settings of an admin API body', () => {
  it('canonicalises every setting as the CLI does', () => {
    assert.deepEqual(
      checkedSettings({ name: ' web-1 ', tags: ['a', 'a'], scopes: ['orders:read', 'orders:*', 'orders:read'], allowedCidrs: ['10.0.0.0/8', ' ::1 '], rateLimit: '100 / s burst 200', quota: '10000/d', certFingerprint: 'AB'.repeat(32), metadata: { owner: 'x' }, expiresIn: '1h' }, NOW),
      { name: 'web-1', tags: ['a'], scopes: ['orders:read', 'orders:*'], allowedCidrs: ['10.0.0.0/8', '::1'], rateLimit: '100/s burst 200', quota: '10000/day', certFingerprint: 'ab'.repeat(32), metadata: { owner: 'x' }, expiresAt: NOW + 3_600_000 },
    );
  });

  it('empties and nulls mean "the gateway default" and "unbound"', () => {
    assert.deepEqual(checkedSettings({ rateLimit: '', quota: null, certFingerprint: '', expiresAt: null }, NOW), { rateLimit: null, quota: null, certFingerprint: null, expiresAt: null });
  });

  it('refuses every bad field at once, each with a pointer and without echoing the input', () => {
    const refused = refusal({ scopes: ['ok', 'has space'], allowedCidrs: ['10.0.0.1/8'], rateLimit: 'sneaky', quota: '5/week', certFingerprint: 'sneaky', expiresIn: '0s' });
    assert.deepEqual(refused.map(([pointer]) => pointer), ['/body/scopes', '/body/allowedCidrs', '/body/rateLimit', '/body/quota', '/body/certFingerprint', '/body/expiresIn']);
    assert.deepEqual(refused[1], ['/body/allowedCidrs', 'allowedCidrs: it has host bits set; did you mean 10.0.0.0/8?']);
    assert.match(refused[0]![1], /^scopes: entry 2: expected at most 128 printable ASCII characters/);
    for (const [, message] of refused) assert.doesNotMatch(message, /sneaky|has space|week/);
  });

  it('binds a PEM certificate by its SHA-256 fingerprint, and refuses text that is not one', async () => {
    const client = await issueClientCertificate(await createCertificateAuthority('test CA'), 'client');
    const fingerprint = new X509Certificate(client.cert).fingerprint256.replaceAll(':', '').toLowerCase();
    assert.deepEqual(checkedSettings({ certificate: client.cert }, NOW), { certFingerprint: fingerprint });
    assert.deepEqual(refusal({ certificate: '-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----' }).map(([pointer]) => pointer), ['/body/certificate']);
    assert.deepEqual(refusal({ certificate: client.cert, certFingerprint: 'ab'.repeat(32) }).map(([pointer]) => pointer), ['/body/certificate']);
  });

  it('binds a PEM public key for signed requests (stored canonical), unbinds with null, and refuses anything else', () => {
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    assert.deepEqual(checkedSettings({ signingKey: `\n${pem.replaceAll('\n', '\r\n')}` }, NOW), { signingKey: pem });
    assert.deepEqual(checkedSettings({ signingKey: null }, NOW), { signingKey: null });
    assert.deepEqual(refusal({ signingKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() }), [['/body/signingKey', 'signingKey: expected a PEM public key (-----BEGIN PUBLIC KEY-----): Ed25519, ECDSA P-256 or RSA of at least 2048 bits']]);
    const weak = generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    assert.equal(refusal({ signingKey: weak })[0]?.[0], '/body/signingKey');
  });

  it('a new key gets the defaults, and cannot expire in the past', () => {
    assert.deepEqual(newKeySettings({ name: 'x' }, NOW), { name: 'x', tags: [], scopes: [], apis: [], allowedCidrs: [], certFingerprint: null, signingKey: null, rateLimit: null, quota: null, metadata: {}, expiresAt: null });
    assert.throws(() => newKeySettings({ name: 'x', expiresAt: '2020-01-01T00:00:00Z' }, NOW), (error: unknown) => error instanceof AdminProblem && error.errors?.[0]?.pointer === '/body/expiresAt');
  });
});

describe('the APIs of a key in an admin API body', () => {
  it('keeps each API name once, in order; an empty list is every API; a new key has every API', () => {
    assert.deepEqual(checkedSettings({ apis: ['orders', 'billing', 'orders'] }, NOW), { apis: ['orders', 'billing'] });
    assert.deepEqual(checkedSettings({ apis: [] }, NOW), { apis: [] });
    assert.deepEqual(newKeySettings({ name: 'web-1' }, NOW).apis, []);
  });

  it('refuses a name that is not an API name, without echoing it', () => {
    const refused = refusal({ apis: ['orders', 'Sneaky Name'] });
    assert.deepEqual(refused.map(([pointer]) => pointer), ['/body/apis']);
    assert.match(refused[0]![1], /^apis: entry 2: expected an API name/);
    assert.doesNotMatch(refused[0]![1], /Sneaky/);
  });
});
