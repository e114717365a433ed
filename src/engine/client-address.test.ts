import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import fc from 'fast-check';
import { createClientAddressResolver } from './client-address.ts';
import { parseForwarded, parseNode, parseXForwardedFor, UNKNOWN_NODE, INVALID_NODE } from '../http/forwarding-chain.ts';
import { canonicalIpAddress, formatIpAddress } from '../http/ip-address.ts';

/** A request as the resolver sees it: a socket address and raw header lines. */
function fakeRequest(remoteAddress: string, rawHeaders: string[] = []): IncomingMessage {
  return { socket: { remoteAddress }, rawHeaders } as unknown as IncomingMessage;
}

const TRUSTED = ['10.0.0.0/8', 'fd00::/8'];
const xff = createClientAddressResolver({ trustProxy: TRUSTED, header: 'x-forwarded-for' });
const forwarded = createClientAddressResolver({ trustProxy: TRUSTED, header: 'forwarded' });
const realIp = createClientAddressResolver({ trustProxy: TRUSTED, header: 'x-real-ip' });

describe('forwarding-chain parsers', () => {
  it('parses nodes with ports, brackets, unknown and obfuscated identifiers', () => {
    assert.equal(formatIpAddress(parseNode('192.0.2.1:4711') as never), '192.0.2.1');
    assert.equal(formatIpAddress(parseNode(' [2001:db8::1]:443 ') as never), '2001:db8::1');
    assert.equal(formatIpAddress(parseNode('[::ffff:192.0.2.1]') as never), '192.0.2.1');
    assert.equal(parseNode('unknown'), UNKNOWN_NODE);
    assert.equal(parseNode('_hidden.proxy-1'), UNKNOWN_NODE);
    for (const bad of ['', '2001:db8::1]', '[192.0.2.1]', '1.2.3.4:port', '[::1]x', 'evil.example', '1.2.3.4:99999999']) assert.equal(parseNode(bad), INVALID_NODE, bad);
  });

  it('parses RFC 7239 Forwarded, including the RFC examples', () => {
    const entries = parseForwarded('for="_gazonk", For="[2001:db8:cafe::17]:4711", for=192.0.2.60;proto=http;by=203.0.113.43, proto=https;host=x');
    assert.ok(entries !== null);
    assert.equal(entries[0], UNKNOWN_NODE);
    assert.equal(formatIpAddress(entries[1] as never), '2001:db8:cafe::17');
    assert.equal(formatIpAddress(entries[2] as never), '192.0.2.60');
    assert.equal(entries[3], UNKNOWN_NODE, 'an element without for= names no one');
    assert.deepEqual(parseForwarded('for=unknown, for="\\"quoted\\""')?.map((entry) => typeof entry), ['symbol', 'symbol']);
    for (const bad of ['for', 'for=', 'for=1.2.3.4;for=5.6.7.8', 'for="unterminated', 'for=1.2.3.4 junk', 'for=[::1]', ';']) assert.equal(parseForwarded(bad), null, bad);
  });

  it('never throw', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (text) => {
        parseForwarded(text);
        parseXForwardedFor(text);
      }),
    );
  });
});

describe('createClientAddressResolver', () => {
  it('uses the socket address when no proxy is trusted, whatever the headers say', () => {
    const resolve = createClientAddressResolver({ trustProxy: [], header: 'x-forwarded-for' });
    const client = resolve(fakeRequest('::ffff:203.0.113.9', ['X-Forwarded-For', '1.1.1.1', 'Forwarded', 'for=1.1.1.1', 'X-Real-IP', '1.1.1.1']));
    assert.equal(client.address, '203.0.113.9');
    assert.deepEqual(client.chain, ['203.0.113.9']);
  });

  it('ignores X-Forwarded-For from an untrusted peer', () => {
    assert.equal(xff(fakeRequest('203.0.113.9', ['X-Forwarded-For', '10.0.0.1'])).address, '203.0.113.9');
  });

  it('takes the rightmost untrusted address, across several header lines, and forwards only the vouched-for chain', () => {
    const client = xff(fakeRequest('10.0.0.2', ['X-Forwarded-For', '6.6.6.6, 198.51.100.4', 'x-forwarded-for', '10.1.1.1 , 10.2.2.2']));
    assert.equal(client.address, '198.51.100.4');
    assert.deepEqual(client.chain, ['198.51.100.4', '10.1.1.1', '10.2.2.2', '10.0.0.2']);
  });

  it('reads Forwarded with quoted IPv6, ports and IPv4-mapped forms', () => {
    assert.equal(forwarded(fakeRequest('::ffff:10.0.0.2', ['Forwarded', 'for=6.6.6.6, for="[2001:db8::9]:4711";proto=https', 'Forwarded', 'for="[fd00::1]"'])).address, '2001:db8::9');
    assert.equal(forwarded(fakeRequest('10.0.0.2', ['Forwarded', 'for="[::ffff:198.51.100.4]"'])).address, '198.51.100.4');
    // Configured for Forwarded: X-Forwarded-For is not read.
    assert.equal(forwarded(fakeRequest('10.0.0.2', ['X-Forwarded-For', '198.51.100.4'])).address, '10.0.0.2');
  });

  it('falls back to the socket address for unknown, obfuscated or unparsable nodes', () => {
    for (const value of ['garbage', '198.51.100.4, unknown', '198.51.100.4, _hidden', '198.51.100.4,,10.0.0.5', '']) {
      assert.equal(xff(fakeRequest('10.0.0.2', ['X-Forwarded-For', value])).address, '10.0.0.2', value);
    }
    assert.equal(forwarded(fakeRequest('10.0.0.2', ['Forwarded', 'for=198.51.100.4;for=1.1.1.1'])).address, '10.0.0.2');
    assert.equal(forwarded(fakeRequest('10.0.0.2', ['Forwarded', 'for=_hidden'])).address, '10.0.0.2');
  });

  it('believes X-Real-IP only when configured, and only as a single line', () => {
    assert.equal(xff(fakeRequest('10.0.0.2', ['X-Real-IP', '198.51.100.4'])).address, '10.0.0.2');
    assert.equal(realIp(fakeRequest('10.0.0.2', ['X-Real-IP', '198.51.100.4'])).address, '198.51.100.4');
    assert.equal(realIp(fakeRequest('10.0.0.2', ['X-Real-IP', '198.51.100.4', 'X-Real-IP', '6.6.6.6'])).address, '10.0.0.2');
  });

  it('takes the leftmost entry when every entry is a trusted proxy', () => {
    assert.equal(xff(fakeRequest('10.0.0.2', ['X-Forwarded-For', '10.9.9.9, 10.8.8.8'])).address, '10.9.9.9');
  });

  it('property: the result is the socket address or an address a trusted proxy appended', () => {
    const trustedAddress = fc.oneof(fc.ipV4().map((a) => `10.${a.split('.').slice(1).join('.')}`), fc.constant('fd00::7'));
    const anyAddress = fc.oneof(fc.ipV4(), fc.ipV6(), trustedAddress);
    const node = fc.oneof(anyAddress, anyAddress.map((a) => (a.includes(':') ? `[${a}]:80` : `${a}:443`)), fc.constantFrom('unknown', '_x', 'junk', '', ' '), fc.string({ maxLength: 8 }));
    fc.assert(
      fc.property(fc.oneof(anyAddress, trustedAddress), fc.array(fc.array(node, { maxLength: 4 }), { maxLength: 3 }), (socketAddress, lines) => {
        const rawHeaders = lines.flatMap((line) => ['X-Forwarded-For', line.join(',')]);
        const client = xff(fakeRequest(socketAddress, rawHeaders));
        const socketCanonical = canonicalIpAddress(socketAddress);
        if (client.address === socketCanonical) return;
        // Otherwise: the peer is trusted, and every entry to the right of the chosen one is a trusted proxy.
        const isTrusted = (address: string) => address.startsWith('10.') || /^fd[0-9a-f]{2}:/.test(address);
        assert.ok(isTrusted(socketCanonical!), 'an untrusted peer never gets a header address');
        const entries = lines.flat().join(',').split(',').map((entry) => parseNode(entry));
        const canonical = entries.map((entry) => (typeof entry === 'symbol' ? null : formatIpAddress(entry)));
        // The chain is a suffix of the header's entries that starts with the client, then the peer.
        assert.equal(client.chain.at(-1), socketCanonical);
        const suffix = client.chain.slice(0, -1);
        assert.equal(suffix[0], client.address);
        assert.deepEqual(canonical.slice(canonical.length - suffix.length), suffix, 'the address was in the header, with only vouched-for entries after it');
        for (const right of suffix.slice(1)) assert.ok(isTrusted(right), `entry right of the client is a trusted proxy: ${right}`);
      }),
      { numRuns: 500 },
    );
  });
});
