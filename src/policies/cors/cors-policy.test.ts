import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { compileCorsPolicy, type CorsOptions } from './cors-policy.ts';

const BASE: CorsOptions = { allowedOrigins: [], allowedMethods: ['GET', 'POST'], allowedHeaders: ['authorization', 'content-type'], exposedHeaders: [], allowCredentials: false, maxAge: 600_000 };

describe('compileCorsPolicy', () => {
  it('matches exact origins and wildcard leftmost labels, and nothing that merely resembles them', () => {
    const policy = compileCorsPolicy({ ...BASE, allowedOrigins: ['https://app.example.com', 'https://*.example.org', 'http://localhost:5173'] });
    for (const origin of ['https://app.example.com', 'https://a.example.org', 'https://a.b.example.org', 'http://localhost:5173']) assert.equal(policy.allowOriginValue(origin), origin, origin);
    for (const origin of ['https://example.org', 'http://a.example.org', 'https://a.example.org:8443', 'https://a.example.org.evil.net', 'https://evilexample.org', 'https://app.example.com.', 'HTTPS://APP.EXAMPLE.COM', 'https://app.example.com/x', 'null', 'http://localhost:5174', 'https://-.example.org']) {
      assert.equal(policy.allowOriginValue(origin), null, origin);
    }
  });

  it('answers "*" for any origin only without credentials, and refuses the unsafe combinations', () => {
    assert.equal(compileCorsPolicy({ ...BASE, allowedOrigins: ['*'] }).allowOriginValue('https://x.test'), '*');
    assert.throws(() => compileCorsPolicy({ ...BASE, allowedOrigins: ['*'], allowCredentials: true }), /cannot be combined with cors.allowCredentials/);
    assert.throws(() => compileCorsPolicy({ ...BASE, allowedOrigins: ['https://a.test'], allowedHeaders: ['*'], allowCredentials: true }), /allowedHeaders/);
    assert.throws(() => compileCorsPolicy({ ...BASE, allowedOrigins: ['https://a.test/path'] }), /is not an origin/);
  });

  it('allows a preflight only for configured methods and headers', () => {
    const policy = compileCorsPolicy({ ...BASE, allowedOrigins: ['https://a.test'] });
    assert.ok(policy.allowsPreflight('POST', 'Content-Type, Authorization'));
    assert.ok(policy.allowsPreflight('GET', undefined));
    assert.ok(!policy.allowsPreflight('DELETE', undefined));
    assert.ok(!policy.allowsPreflight('POST', 'content-type, x-other'));
    assert.equal(policy.maxAgeSeconds, '600');
  });

  it('matches a wildcard pattern in linear time on adversarial origins', () => {
    const policy = compileCorsPolicy({ ...BASE, allowedOrigins: ['https://*.example.org'] });
    const started = process.hrtime.bigint();
    assert.equal(policy.allowOriginValue(`https://${'a.'.repeat(20_000)}example.net`), null);
    assert.equal(policy.allowOriginValue(`https://${'a-'.repeat(20_000)}`), null);
    assert.ok(process.hrtime.bigint() - started < 2_000_000_000n);
  });
});
