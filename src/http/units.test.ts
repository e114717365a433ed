import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { formatHostPort, parseByteSize, parseDuration, parseHostPort } from './units.ts';

describe('parseDuration', () => {
  it('reads each unit', () => {
    assert.equal(parseDuration('250ms'), 250);
    assert.equal(parseDuration('30s'), 30_000);
    assert.equal(parseDuration('5m'), 300_000);
    assert.equal(parseDuration('1h'), 3_600_000);
    assert.equal(parseDuration('30d'), 2_592_000_000);
    assert.equal(parseDuration('1.5s'), 1500);
    assert.equal(parseDuration(42), 42);
  });
  it('refuses malformed input', () => {
    for (const bad of ['', 's', '10', '10 s', '-1s', '1y', '1e3s', 'Infinity', null, {}, -5, Number.NaN]) assert.equal(parseDuration(bad), null, String(bad));
  });
  it('never throws', () => {
    fc.assert(fc.property(fc.anything(), (value) => {
      parseDuration(value);
    }));
  });
});

describe('parseByteSize', () => {
  it('reads sizes', () => {
    assert.equal(parseByteSize('16kb'), 16384);
    assert.equal(parseByteSize('10MB'), 10 * 1024 * 1024);
    assert.equal(parseByteSize(100), 100);
    assert.equal(parseByteSize('1tb'), null);
  });
});

describe('parseHostPort', () => {
  it('reads host:port, bracketed IPv6 and a bare port', () => {
    assert.deepEqual(parseHostPort('0.0.0.0:8080'), { host: '0.0.0.0', port: 8080 });
    assert.deepEqual(parseHostPort('[::]:8443'), { host: '::', port: 8443 });
    assert.deepEqual(parseHostPort('[::1]:1'), { host: '::1', port: 1 });
    assert.deepEqual(parseHostPort('localhost:9'), { host: 'localhost', port: 9 });
    assert.deepEqual(parseHostPort('8080'), { host: '127.0.0.1', port: 8080 });
  });
  it('refuses malformed input', () => {
    for (const bad of ['::1:8080', '[::1]', 'host:', ':80', 'host:70000', 'a b:1', 'http://x:1', '']) assert.equal(parseHostPort(bad), null, bad);
  });
  it('round-trips through formatHostPort', () => {
    fc.assert(
      fc.property(fc.oneof(fc.ipV4(), fc.ipV6()), fc.integer({ min: 0, max: 65535 }), (host, port) => {
        assert.deepEqual(parseHostPort(formatHostPort({ host, port })), { host, port });
      }),
    );
  });
});
