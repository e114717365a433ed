import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign } from 'node:crypto';
import fc from 'fast-check';
import { AlertPublicKeysError, isSignedAlert, parseAlertPublicKeys } from './alert-public-keys.ts';

const signer = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const other = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const pemOf = (pair: { publicKey: { export(options: { type: 'spki'; format: 'pem' }): string | Buffer } }) => pair.publicKey.export({ type: 'spki', format: 'pem' }) as string;
const LIST = JSON.stringify({
  public_keys: [
    { key_identifier: 'current', key: pemOf(signer), is_current: true },
    { key_identifier: 'previous', key: pemOf(other), is_current: false },
  ],
});
const BODY = Buffer.from('[{"token":"pcl_x","type":"portcullis_api_key","url":"https://github.com/a/b","source":"content"}]');
const signatureOf = (body: Buffer, privateKey = signer.privateKey) => sign('sha256', body, privateKey).toString('base64');

describe('parseAlertPublicKeys', () => {
  it('reads every key of GitHub\'s format by identifier, current or not', () => {
    const keys = parseAlertPublicKeys(LIST);
    assert.deepEqual([...keys.keys()], ['current', 'previous']);
  });

  const refused: Array<[string, string, RegExp]> = [
    ['not JSON', '{public_keys', /expected JSON/],
    ['no list', '{}', /at least one key/],
    ['an empty list', '{"public_keys":[]}', /at least one key/],
    ['null', 'null', /at least one key/],
    ['an entry without identifier', JSON.stringify({ public_keys: [{ key: pemOf(signer) }] }), /public_keys\[0\]\.key_identifier/],
    ['an entry without key', JSON.stringify({ public_keys: [{ key_identifier: 'a' }] }), /public_keys\[0\]\.key to be a PEM/],
    ['a key that does not parse', JSON.stringify({ public_keys: [{ key_identifier: 'a', key: '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----' }] }), /does not parse/],
    ['an RSA key', JSON.stringify({ public_keys: [{ key_identifier: 'a', key: pemOf(generateKeyPairSync('rsa', { modulusLength: 1024 })) }] }), /ECDSA P-256.*found rsa/],
    ['a P-384 key', JSON.stringify({ public_keys: [{ key_identifier: 'a', key: pemOf(generateKeyPairSync('ec', { namedCurve: 'secp384r1' })) }] }), /found ec \(secp384r1\)/],
    ['a repeated identifier', JSON.stringify({ public_keys: [{ key_identifier: 'a', key: pemOf(signer) }, { key_identifier: 'a', key: pemOf(other) }] }), /unique key identifiers, found a twice/],
  ];
  for (const [name, text, message] of refused) {
    it(`refuses ${name}`, () => {
      assert.throws(() => parseAlertPublicKeys(text), (error: unknown) => error instanceof AlertPublicKeysError && message.test(error.message));
    });
  }
});

describe('isSignedAlert', () => {
  const keys = parseAlertPublicKeys(LIST);

  it('accepts the signature of the identified key over the exact body', () => {
    assert.equal(isSignedAlert(keys, 'current', signatureOf(BODY), BODY), true);
    assert.equal(isSignedAlert(keys, 'previous', signatureOf(BODY, other.privateKey), BODY), true);
  });

  it('refuses a signature of another body, of another key, or under another identifier', () => {
    const changed = Buffer.from(` ${BODY.toString()}`);
    assert.equal(isSignedAlert(keys, 'current', signatureOf(changed), BODY), false, 'valid for another body (whitespace counts)');
    assert.equal(isSignedAlert(keys, 'current', signatureOf(BODY, other.privateKey), BODY), false, 'signed by another listed key');
    assert.equal(isSignedAlert(keys, 'previous', signatureOf(BODY), BODY), false);
    assert.equal(isSignedAlert(keys, 'unknown', signatureOf(BODY), BODY), false, 'unknown identifier');
  });

  it('refuses empty and malformed signatures without throwing', () => {
    for (const signature of ['', '====', 'not base64 at all!', Buffer.from('garbage').toString('base64'), Buffer.alloc(72).toString('base64')]) {
      assert.equal(isSignedAlert(keys, 'current', signature, BODY), false, JSON.stringify(signature));
    }
  });

  it('never throws and never accepts a random signature', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 80 }), fc.string({ maxLength: 100 }), (bytes, text) => {
      assert.equal(isSignedAlert(keys, 'current', Buffer.from(bytes).toString('base64'), BODY), false);
      assert.equal(isSignedAlert(keys, 'current', text, BODY), false);
    }));
  });
});
