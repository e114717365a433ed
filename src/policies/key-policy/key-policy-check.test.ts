import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fakeContext, fakeKey, fakeParts, recordingLogger, type FakeRequest } from '../../../test/support/fake-context.ts';
import type { Denial } from '../../http/error-catalogue.ts';
import type { KeyRecord } from '../../keys/key-record.ts';
import { createKeyPolicyCheck } from './key-policy-check.ts';
import { keyPolicy } from './index.ts';

const BOUND = 'c0ffee'.repeat(10) + 'c0ff'; // 64 hex digits, as the store keeps a binding
const BOUND_AS_NODE_SHOWS_IT = BOUND.toUpperCase().match(/../g)?.join(':') as string;
const OTHER_CERTIFICATE = '12'.repeat(31) + '34';

const IP_NOT_ALLOWED = { code: 'ip_not_allowed', status: 403 };
const MISMATCH = { code: 'key_certificate_mismatch', status: 401, headers: [['www-authenticate', 'Bearer realm="portcullis", error="invalid_token"']] };

const cases: Array<{ name: string; record: Partial<KeyRecord>; request: FakeRequest; expected: { code: string; status: number; headers?: string[][] } | null }> = [
  { name: 'a key without restrictions, from anywhere', record: {}, request: { address: '203.0.113.50' }, expected: null },
  { name: 'a key used from one of its networks', record: { allowedCidrs: ['10.0.0.0/8', '2001:db8::/32'] }, request: { address: '10.1.2.3' }, expected: null },
  { name: 'a key used from one of its IPv6 networks', record: { allowedCidrs: ['10.0.0.0/8', '2001:db8::/32'] }, request: { address: '2001:db8:5::1' }, expected: null },
  { name: 'a key used from an IPv4-mapped address in its network', record: { allowedCidrs: ['10.0.0.0/8'] }, request: { address: '::ffff:10.9.9.9' }, expected: null },
  { name: 'a key used from outside its networks', record: { allowedCidrs: ['10.0.0.0/8', '2001:db8::/32'] }, request: { address: '192.0.2.10' }, expected: IP_NOT_ALLOWED },
  { name: 'a key bound to a single address, from its neighbour', record: { allowedCidrs: ['192.0.2.9'] }, request: { address: '192.0.2.10' }, expected: IP_NOT_ALLOWED },
  { name: 'a bound key on a plain connection', record: { certFingerprint: BOUND }, request: {}, expected: MISMATCH },
  { name: 'a bound key with its certificate, verified', record: { certFingerprint: BOUND }, request: { tls: { authorized: true, fingerprint256: BOUND_AS_NODE_SHOWS_IT } }, expected: null },
  { name: 'a bound key with another verified certificate', record: { certFingerprint: BOUND }, request: { tls: { authorized: true, fingerprint256: OTHER_CERTIFICATE } }, expected: MISMATCH },
  { name: 'a bound key with its certificate, not signed by the CA', record: { certFingerprint: BOUND }, request: { tls: { authorized: false, fingerprint256: BOUND_AS_NODE_SHOWS_IT } }, expected: MISMATCH },
  { name: 'a bound key with its certificate from outside its networks (networks first)', record: { certFingerprint: BOUND, allowedCidrs: ['10.0.0.0/8'] }, request: { address: '192.0.2.10', tls: { authorized: true, fingerprint256: BOUND_AS_NODE_SHOWS_IT } }, expected: IP_NOT_ALLOWED },
];

describe('key-policy check', () => {
  const check = createKeyPolicyCheck(() => assert.fail('no list here is invalid'));
  for (const { name, record, request, expected } of cases) {
    it(`${expected === null ? 'passes' : `refuses (${expected.code})`}: ${name}`, () => {
      const outcome = check.run(fakeContext(request, { key: fakeKey(record) })) as Denial | null;
      if (expected === null) return assert.equal(outcome, null);
      assert.equal(outcome?.code, expected.code);
      assert.equal(outcome?.status, expected.status);
      assert.deepEqual(outcome?.headers, expected.headers);
    });
  }

  it('passes a request without an authenticated key (nothing to restrict)', () => {
    assert.equal(check.run(fakeContext({ address: '192.0.2.10' }, { presentedKey: fakeKey({ allowedCidrs: ['10.0.0.0/8'] }) })), null);
  });

  it('fails closed on a stored list that does not compile, reporting it once per record', () => {
    const reports: Array<[string, unknown]> = [];
    const reporting = createKeyPolicyCheck((keyId, error) => reports.push([keyId, error]));
    const broken = fakeKey({ id: 'key_broken', allowedCidrs: ['10.0.0.0/8', '10.0.0.0/99'] });
    for (const address of ['10.1.1.1', '10.2.2.2']) assert.equal((reporting.run(fakeContext({ address }, { key: broken })) as Denial | null)?.code, 'ip_not_allowed');
    assert.equal(reports.length, 1);
    assert.equal(reports[0]?.[0], 'key_broken');
    assert.match(String(reports[0]?.[1]), /10\.0\.0\.0\/99/);
    // The feed brings the repaired record as a new object: compiled afresh.
    const repaired = fakeKey({ id: 'key_broken', allowedCidrs: ['10.0.0.0/8'] });
    assert.equal(reporting.run(fakeContext({ address: '10.1.1.1' }, { key: repaired })), null);
  });
});

describe('key-policy policy', () => {
  it('is always on, and logs a key whose list does not compile', () => {
    const { logger, lines } = recordingLogger();
    const check = keyPolicy.create({}, fakeParts({ logger }));
    assert.equal(keyPolicy.stage, 7);
    assert.equal((check?.run(fakeContext({}, { key: fakeKey({ id: 'key_x', allowedCidrs: ['nonsense'] }) })) as Denial | null)?.code, 'ip_not_allowed');
    assert.equal(lines.length, 1);
    assert.equal(lines[0]?.level, 'error');
    assert.equal(lines[0]?.message, 'key has an invalid allowed CIDR; refusing every request with it');
    assert.equal((lines[0]?.object as { keyId: string }).keyId, 'key_x');
  });
});

describe('key-policy check: the APIs a key belongs to', () => {
  const check = createKeyPolicyCheck(() => assert.fail('no list here is invalid'));
  const orders = { name: 'orders', index: 0 };
  const billing = { name: 'billing', index: 1 };
  const apiCases: Array<{ name: string; apis: string[]; api: { name: string; index: number } | null; refused: boolean }> = [
    { name: 'a key for every API (no list), on any API', apis: [], api: billing, refused: false },
    { name: 'a key for orders, on orders', apis: ['orders'], api: orders, refused: false },
    { name: 'a key for orders and billing, on billing', apis: ['orders', 'billing'], api: billing, refused: false },
    { name: 'a key for orders, on billing', apis: ['orders'], api: billing, refused: true },
    { name: 'a key for orders, on an API whose name only starts like it', apis: ['orders'], api: { name: 'orders-v2', index: 2 }, refused: true },
    { name: 'a key for orders, on a request no API was matched to (fails closed)', apis: ['orders'], api: null, refused: true },
    { name: 'a key for every API, on a request no API was matched to', apis: [], api: null, refused: false },
  ];
  for (const { name, apis, api, refused } of apiCases) {
    it(`${refused ? 'refuses (key_wrong_api)' : 'passes'}: ${name}`, () => {
      const outcome = check.run(fakeContext({}, { key: fakeKey({ apis }), api })) as Denial | null;
      if (!refused) return assert.equal(outcome, null);
      assert.equal(outcome?.code, 'key_wrong_api');
      assert.equal(outcome?.status, 403);
    });
  }

  it('judges the API before the key\'s networks', () => {
    const outcome = check.run(fakeContext({ address: '192.0.2.10' }, { key: fakeKey({ apis: ['orders'], allowedCidrs: ['10.0.0.0/8'] }), api: billing })) as Denial | null;
    assert.equal(outcome?.code, 'key_wrong_api');
  });
});
