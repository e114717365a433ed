import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isIP } from 'node:net';
import fc from 'fast-check';
import { canonicalIpAddress, formatIpAddress, parseIpAddress } from './ip-address.ts';
import { createCidrMatcher, InvalidCidrError, parseCidr } from './cidr.ts';

describe('parseIpAddress / formatIpAddress', () => {
  it('parses and canonicalises IPv4 and IPv6', () => {
    const cases: Array<[string, string | null]> = [
      ['127.0.0.1', '127.0.0.1'],
      ['0.0.0.0', '0.0.0.0'],
      ['255.255.255.255', '255.255.255.255'],
      ['::1', '::1'],
      ['::', '::'],
      ['2001:DB8:0:0:0:0:0:1', '2001:db8::1'],
      ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
      ['2001:0db8:0000:0000:0000:ff00:0042:8329', '2001:db8::ff00:42:8329'],
      ['1:0:1:1:1:1:1:1', '1:0:1:1:1:1:1:1'],
      ['::ffff:10.1.2.3', '10.1.2.3'],
      ['::FFFF:0a01:0203', '10.1.2.3'],
      ['0:0:0:0:0:ffff:127.0.0.2', '127.0.0.2'],
      ['64:ff9b::192.0.2.33', '64:ff9b::c000:221'],
      ['010.0.0.1', null],
      ['1.2.3', null],
      ['1.2.3.4.5', null],
      ['256.0.0.1', null],
      ['1.2.3.4 ', null],
      ['fe80::1%eth0', null],
      ['1::2::3', null],
      ['12345::1', null],
      ['1:2:3:4:5:6:7:8:9', null],
      ['[::1]', null],
      ['', null],
      ['unknown', null],
    ];
    for (const [input, expected] of cases) assert.equal(canonicalIpAddress(input), expected, input);
  });

  it('agrees with node:net isIP on random IPv4 text, and round-trips', () => {
    fc.assert(
      fc.property(fc.ipV4(), (text) => {
        const parsed = parseIpAddress(text);
        assert.ok(parsed !== null && parsed.family === 4);
        assert.equal(formatIpAddress(parsed), text);
      }),
    );
  });

  it('round-trips IPv6: canonical text parses back to the same address, and is idempotent', () => {
    fc.assert(
      fc.property(fc.ipV6(), (text) => {
        const parsed = parseIpAddress(text);
        assert.ok(parsed !== null, text);
        const canonical = formatIpAddress(parsed);
        assert.equal(isIP(canonical), parsed.family);
        assert.deepEqual(parseIpAddress(canonical), parsed);
        assert.equal(canonicalIpAddress(canonical), canonical);
      }),
    );
  });

  it('never throws and only accepts what node:net accepts', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 50 }), (text) => {
        const parsed = parseIpAddress(text);
        if (parsed !== null) assert.notEqual(isIP(text), 0, text);
      }),
    );
  });
});

describe('parseCidr / createCidrMatcher', () => {
  it('matches IPv4 and IPv6 ranges, hosts, and IPv4-mapped addresses against IPv4 rules', () => {
    const matcher = createCidrMatcher(['10.0.0.0/8', '192.168.1.7', '2001:db8::/32', '::ffff:172.16.0.0/108', '127.0.0.1/32']);
    const yes = ['10.255.0.1', '::ffff:10.0.0.1', '192.168.1.7', '2001:db8:ffff::1', '172.16.5.5', '::ffff:127.0.0.1', '127.0.0.1'];
    const no = ['11.0.0.1', '192.168.1.8', '2001:db9::1', '172.32.0.1', '::1', '127.0.0.2'];
    for (const address of yes) assert.equal(matcher.matches(parseIpAddress(address)!), true, address);
    for (const address of no) assert.equal(matcher.matches(parseIpAddress(address)!), false, address);
  });

  it('/0 matches everything of its family only', () => {
    const ipv4All = createCidrMatcher(['0.0.0.0/0']);
    const ipv6All = createCidrMatcher(['::/0']);
    fc.assert(
      fc.property(fc.ipV4(), fc.ipV6(), (v4, v6) => {
        assert.equal(ipv4All.matches(parseIpAddress(v4)!), true);
        const parsed6 = parseIpAddress(v6)!;
        assert.equal(ipv6All.matches(parsed6), parsed6.family === 6);
      }),
    );
  });

  it('a range contains its network address and, for IPv4, agrees with arithmetic', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 32 }), fc.integer({ min: 0, max: 0xffffffff }), (base, prefix, probe) => {
        const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
        const network = (base & mask) >>> 0;
        const format = (value: number) => formatIpAddress({ family: 4, value });
        const matcher = createCidrMatcher([`${format(network)}/${prefix}`]);
        assert.equal(matcher.matches({ family: 4, value: network }), true);
        assert.equal(matcher.matches({ family: 4, value: probe }), ((probe & mask) >>> 0) === network);
      }),
    );
  });

  it('refuses bad CIDRs with a message that names them', () => {
    const bad: Array<[string, RegExp]> = [
      ['10.0.0.1/8', /"10\.0\.0\.1\/8".*host bits set; did you mean 10\.0\.0\.0\/8/],
      ['10.0.0.0/33', /"10\.0\.0\.0\/33".*prefix length must be a number from 0 to 32/],
      ['2001:db8::/129', /prefix length must be a number from 0 to 128/],
      ['10.0.0/8', /"10\.0\.0\/8".*not an IPv4 or IPv6 address/],
      ['banana', /"banana"/],
      ['10.0.0.0/', /prefix length/],
      ['::ffff:10.0.0.0/64', /at least 96/],
    ];
    for (const [cidr, message] of bad) assert.throws(() => parseCidr(cidr), (error: unknown) => error instanceof InvalidCidrError && message.test(error.message), cidr);
    assert.throws(() => createCidrMatcher(['10.0.0.0/8', 'nope'], '--allow-ip'), /^InvalidCidrError: --allow-ip: Invalid CIDR "nope"/);
  });
});
