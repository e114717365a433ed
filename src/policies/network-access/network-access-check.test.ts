import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fakeContext, fakeParts } from '../../../test/support/fake-context.ts';
import { InvalidCidrError } from '../../http/cidr.ts';
import type { Denial } from '../../http/error-catalogue.ts';
import type { Check } from '../request-context.ts';
import { createNetworkAccessCheck, type NetworkAccessOptions } from './network-access-check.ts';
import { networkAccess } from './index.ts';
import type { ReportOnlySettings } from '../report-only.ts';

/** The settings of a pipeline with nothing in report mode. */
const ENFORCING: ReportOnlySettings = { reportOnly: { policies: new Set(), header: false } };

const ALLOW_OFFICE = ['10.0.0.0/8', '2001:db8::/32', '192.0.2.7'];

const cases: Array<{ name: string; lists: NetworkAccessOptions; address: string; allowed: boolean }> = [
  { name: 'an address inside an allowed range', lists: { allow: ALLOW_OFFICE, deny: [] }, address: '10.20.30.40', allowed: true },
  { name: 'an address outside every allowed range', lists: { allow: ALLOW_OFFICE, deny: [] }, address: '192.0.2.8', allowed: false },
  { name: 'a single allowed address', lists: { allow: ALLOW_OFFICE, deny: [] }, address: '192.0.2.7', allowed: true },
  { name: 'an IPv6 address inside an allowed range', lists: { allow: ALLOW_OFFICE, deny: [] }, address: '2001:db8:1::5', allowed: true },
  { name: 'an IPv6 address outside it', lists: { allow: ALLOW_OFFICE, deny: [] }, address: '2001:db9::5', allowed: false },
  { name: 'an IPv4-mapped IPv6 client against an IPv4 entry', lists: { allow: ALLOW_OFFICE, deny: [] }, address: '::ffff:10.1.2.3', allowed: true },
  { name: 'an address on the deny list, with no allow list', lists: { allow: [], deny: ['203.0.113.0/24'] }, address: '203.0.113.9', allowed: false },
  { name: 'any other address, with only a deny list', lists: { allow: [], deny: ['203.0.113.0/24'] }, address: '198.51.100.1', allowed: true },
  { name: 'a denied address that the allow list includes (deny wins)', lists: { allow: ['10.0.0.0/8'], deny: ['10.6.6.0/24'] }, address: '10.6.6.6', allowed: false },
  { name: 'an allowed address next to the denied range', lists: { allow: ['10.0.0.0/8'], deny: ['10.6.6.0/24'] }, address: '10.6.7.1', allowed: true },
  { name: 'an IPv6 client when only IPv4 ranges are allowed', lists: { allow: ['0.0.0.0/0'], deny: [] }, address: '2001:db8::1', allowed: false },
];

describe('network-access check', () => {
  for (const { name, lists, address, allowed } of cases) {
    it(`${allowed ? 'passes' : 'refuses'} ${name}`, () => {
      const check = createNetworkAccessCheck(lists) as Check;
      const outcome = check.run(fakeContext({ address })) as Denial | null;
      if (allowed) return assert.equal(outcome, null);
      assert.equal(outcome?.code, 'ip_not_allowed');
      assert.equal(outcome?.status, 403);
      assert.equal(outcome?.detail, 'Requests from this address are not allowed.');
    });
  }

  it('decides on the resolved client, not on the socket', () => {
    const check = createNetworkAccessCheck({ allow: ['10.0.0.0/8'], deny: [] }) as Check;
    // Behind a trusted proxy the socket peer is the proxy; stage 2 resolved the client.
    const context = fakeContext({ address: '10.0.0.1' });
    assert.equal(check.run(context), null);
    const outsider = fakeContext({ address: '10.0.0.1' }, { client: fakeContext({ address: '198.51.100.4' }).client });
    assert.equal((check.run(outsider) as Denial | null)?.code, 'ip_not_allowed');
  });

  it('is not made while both lists are empty', () => {
    assert.equal(createNetworkAccessCheck({ allow: [], deny: [] }), null);
  });

  it('refuses a bad CIDR at start, naming the entry and the option', () => {
    assert.throws(() => createNetworkAccessCheck({ allow: ['10.0.0.0/33'], deny: [] }), (error: unknown) => error instanceof InvalidCidrError && /network\.allow \(--allow-ip\).*10\.0\.0\.0\/33/.test(error.message));
    assert.throws(() => createNetworkAccessCheck({ allow: [], deny: ['nonsense'] }), (error: unknown) => error instanceof InvalidCidrError && /network\.deny \(--deny-ip\).*nonsense/.test(error.message));
  });
});

describe('network-access policy', () => {
  it('is off with empty lists and on with either', () => {
    assert.equal(networkAccess.stage, 3);
    assert.equal(networkAccess.create({ ...ENFORCING, network: { allow: [], deny: [] } }, fakeParts()), null);
    assert.equal(networkAccess.create({ ...ENFORCING, network: { allow: ['10.0.0.0/8'], deny: [] } }, fakeParts())?.name, 'network-access');
    const denyOnly = networkAccess.create({ ...ENFORCING, network: { allow: [], deny: ['192.0.2.10'] } }, fakeParts());
    assert.equal((denyOnly?.run(fakeContext({ address: '192.0.2.10' })) as Denial | null)?.code, 'ip_not_allowed');
  });
});

describe('network-access policy in report mode', () => {
  it('reports a refused address; enforcing, it has nothing to report', () => {
    const reporting = networkAccess.create({ reportOnly: { policies: new Set(['network-access']), header: false }, network: { allow: [], deny: ['192.0.2.10'] } }, fakeParts());
    const context = fakeContext({ address: '192.0.2.10' });
    const refused = reporting?.run(context) as Denial;
    assert.equal(refused.code, 'ip_not_allowed');
    assert.equal(reporting?.reports?.(refused, context), true);
    assert.equal(networkAccess.create({ ...ENFORCING, network: { allow: [], deny: ['192.0.2.10'] } }, fakeParts())?.reports, undefined);
  });
});
