import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fakeKey } from '../../../test/support/fake-context.ts';
import { DelegatedKeys } from './delegated-key.ts';

describe('DelegatedKeys', () => {
  const parent = fakeKey({ id: 'key_frontend', scopes: ['orders:read', 'orders:write'], allowedCidrs: ['10.0.0.11'], certFingerprint: 'ab'.repeat(32), apis: ['shop'], rateLimit: '5/s' });

  it('runs as the parent with the token\'s scopes, narrowed to what the parent still grants', () => {
    const delegated = new DelegatedKeys().of(parent, ['orders:read', 'admin']);
    assert.equal(delegated.record.id, 'key_frontend');
    assert.deepEqual(delegated.record.scopes, ['orders:read']);
    assert.equal(delegated.record.rateLimit, '5/s', 'the parent\'s limits apply');
    assert.deepEqual(delegated.record.apis, ['shop'], 'and its APIs');
  });

  it('drops the parent\'s networks and certificate binding (checked at issuance), so browsers anywhere can use the token', () => {
    const delegated = new DelegatedKeys().of(parent, ['orders:read']);
    assert.deepEqual(delegated.record.allowedCidrs, []);
    assert.equal(delegated.record.certFingerprint, null);
    assert.deepEqual(parent.record.allowedCidrs, ['10.0.0.11'], 'the parent itself stays bound');
  });

  it('keeps a signing-key binding, so a bound key\'s tokens cannot skip its signatures', () => {
    const bound = fakeKey({ id: 'key_service', signingKey: '-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA\n-----END PUBLIC KEY-----\n' });
    assert.equal(new DelegatedKeys().of(bound, []).record.signingKey, bound.record.signingKey);
  });

  it('makes one object per parent record and scope set', () => {
    const keys = new DelegatedKeys();
    assert.equal(keys.of(parent, ['orders:read']), keys.of(parent, ['orders:read']));
    assert.notEqual(keys.of(parent, ['orders:read']), keys.of(parent, ['orders:write']));
  });
});
