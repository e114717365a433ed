import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parseIpAddress, type IpAddress } from '../../http/ip-address.ts';
import { formatNetwork, networkOf, parseNetwork } from './network-prefix.ts';

function ip(text: string): IpAddress {
  return parseIpAddress(text) as IpAddress;
}

describe('networkOf / formatNetwork', () => {
  const cases: Array<[string, string]> = [
    ['203.0.113.7', '203.0.113.0/24'],
    ['203.0.113.255', '203.0.113.0/24'],
    ['0.0.0.1', '0.0.0.0/24'],
    ['255.255.255.255', '255.255.255.0/24'],
    ['::ffff:198.51.100.9', '198.51.100.0/24'],
    ['2001:db8:1:2::1', '2001:db8:1::/48'],
    ['2001:db8:ffff:ffff::1', '2001:db8:ffff::/48'],
    ['::1', '::/48'],
    ['ffff:ffff:ffff:ffff::', 'ffff:ffff:ffff::/48'],
  ];
  for (const [address, network] of cases) {
    it(`${address} is in ${network}`, () => {
      assert.equal(formatNetwork(networkOf(ip(address))), network);
      assert.equal(parseNetwork(network), networkOf(ip(address)));
    });
  }

  it('puts addresses of one /24 (one /48) together and of neighbouring ones apart', () => {
    assert.equal(networkOf(ip('192.0.2.1')), networkOf(ip('192.0.2.200')));
    assert.notEqual(networkOf(ip('192.0.2.1')), networkOf(ip('192.0.3.1')));
    assert.equal(networkOf(ip('2001:db8:5::1')), networkOf(ip('2001:db8:5:ffff::9')));
    assert.notEqual(networkOf(ip('2001:db8:5::1')), networkOf(ip('2001:db8:6::1')));
    // IPv4 0.0.1.x and IPv6 ::/48 near zero must never meet.
    assert.notEqual(networkOf(ip('0.0.1.1')), networkOf(ip('0:0:1::')));
  });

  it('refuses what it did not write', () => {
    for (const text of ['203.0.113.0', '203.0.113.0/16', '203.0.113.5/24', '2001:db8::/64', 'nonsense/24', '2001:db8:1::5/48']) assert.equal(parseNetwork(text), null, text);
  });

  it('round-trips every address (property)', () => {
    fc.assert(fc.property(fc.oneof(fc.ipV4(), fc.ipV6()), (text) => {
      const address = parseIpAddress(text);
      if (address === null) return;
      const network = networkOf(address);
      assert.equal(parseNetwork(formatNetwork(network)), network);
    }));
  });
});
