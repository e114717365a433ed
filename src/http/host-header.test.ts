import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isValidHost } from './host-header.ts';

describe('isValidHost (RFC 9112 §3.2)', () => {
  const valid = [
    'api.example',
    'API.Example.COM',
    'localhost',
    'localhost:8080',
    'api.example:443',
    'a',
    'xn--caf-dma.example',
    'under_score.internal',
    'tilde~name',
    'host-with-dashes.example:1',
    '192.0.2.10',
    '192.0.2.10:65535',
    '[::1]',
    '[::1]:8443',
    '[2001:db8::7]',
    '[::ffff:192.0.2.1]:80',
    'a'.repeat(255),
    `${'a'.repeat(255)}:80`,
  ];
  const invalid: Array<{ name: string; value: string }> = [
    { name: 'empty', value: '' },
    { name: 'a port only', value: ':80' },
    { name: 'an empty port', value: 'api.example:' },
    { name: 'a port past 65535', value: 'api.example:65536' },
    { name: 'a six-digit port', value: 'api.example:000080' },
    { name: 'a port with a letter', value: 'api.example:8o' },
    { name: 'two ports', value: 'api.example:80:81' },
    { name: 'a list (X-Forwarded-Host splits on ",")', value: 'a.example,b.example' },
    { name: 'a space', value: 'a.example b.example' },
    { name: 'a semicolon', value: 'a.example;host=b' },
    { name: 'user info', value: 'user@api.example' },
    { name: 'a path', value: 'api.example/admin' },
    { name: 'a quote', value: 'api.example"' },
    { name: 'a percent-encoding', value: 'api%2Eexample' },
    { name: 'non-ASCII', value: 'café.example' },
    { name: 'a control byte', value: 'api.example\u0000' },
    { name: 'a name past 255 characters', value: 'a'.repeat(256) },
    { name: 'IPv6 without brackets', value: '::1' },
    { name: 'an unclosed bracket', value: '[::1' },
    { name: 'an IPv4 address in brackets', value: '[192.0.2.1]' },
    { name: 'an invalid IPv6 address', value: '[::g]' },
    { name: 'an IPv6 zone identifier', value: '[fe80::1%25eth0]' },
    { name: 'IPvFuture', value: '[v1.fe80::a+en1]' },
    { name: 'text after the brackets', value: '[::1]x' },
    { name: 'an empty port after brackets', value: '[::1]:' },
  ];
  for (const value of valid) it(`accepts ${JSON.stringify(value.length > 40 ? `${value.slice(0, 20)}…` : value)}`, () => assert.equal(isValidHost(value), true));
  for (const { name, value } of invalid) it(`refuses ${name}`, () => assert.equal(isValidHost(value), false));

  it('accepts every name of unreserved characters with any valid port, and never throws', () => {
    const name = fc.stringMatching(/^[A-Za-z0-9._~-]{1,60}$/);
    fc.assert(
      fc.property(name, fc.option(fc.integer({ min: 0, max: 65535 })), fc.string(), (host, port, junk) => {
        assert.equal(isValidHost(port === null ? host : `${host}:${port}`), true);
        const accepted = isValidHost(junk);
        if (accepted) assert.match(junk, /^([A-Za-z0-9._~-]{1,255}|\[[0-9A-Fa-f:.]+\])(:\d{1,5})?$/);
      }),
    );
  });
});
