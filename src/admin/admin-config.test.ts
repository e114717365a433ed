import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../app/config.ts';
import { ConfigError } from '../config/config-error.ts';

const load = (env: Record<string, string>) => loadConfig({ env, cwd: '/srv/portcullis' });

describe('admin, usage and log options', () => {
  it('default to a loopback admin listener, local clients only, 30 days of usage, no access log', () => {
    const config = load({});
    assert.deepEqual(config.admin.listen, { host: '127.0.0.1', port: 8081 });
    assert.equal(config.admin.allowRemote, false);
    assert.equal(config.admin.tls, null);
    assert.equal(config.admin.insecurePlaintextRemote, false);
    assert.equal(config.admin.sessionLifetime, 8 * 3_600_000);
    assert.equal(config.admin.sessionIdleTimeout, 30 * 60_000);
    assert.equal(config.usage.retention, 30 * 86_400_000);
    assert.equal(config.log.access, false);
  });

  it('turn the admin listener off with an empty PORTCULLIS_ADMIN_LISTEN', () => {
    assert.equal(load({ PORTCULLIS_ADMIN_LISTEN: '' }).admin.listen, null);
    assert.deepEqual(load({ PORTCULLIS_ADMIN_LISTEN: '[::1]:9000' }).admin.listen, { host: '::1', port: 9000 });
  });

  it('resolve TLS files against the working directory', () => {
    const config = load({ PORTCULLIS_ADMIN_TLS_CERT: 'tls/admin.pem', PORTCULLIS_ADMIN_TLS_KEY: '/etc/admin.key', PORTCULLIS_ADMIN_TLS_CLIENT_CA: 'ca.pem' });
    assert.deepEqual(config.admin.tls, { cert: '/srv/portcullis/tls/admin.pem', key: '/etc/admin.key', clientCa: '/srv/portcullis/ca.pem' });
  });

  it('refuse half a TLS setting, naming the field', () => {
    assert.throws(() => load({ PORTCULLIS_ADMIN_TLS_CERT: 'a.pem' }), (error: ConfigError) => /admin\.tls: expected both cert and key, found only cert/.test(error.message));
    assert.throws(() => load({ PORTCULLIS_ADMIN_TLS_KEY: 'a.key' }), (error: ConfigError) => /found only key/.test(error.message));
    assert.throws(() => load({ PORTCULLIS_ADMIN_TLS_CLIENT_CA: 'ca.pem' }), (error: ConfigError) => /admin\.tls\.clientCa: requires admin\.tls\.cert/.test(error.message));
  });

  it('refuse plain HTTP on an address beyond loopback, naming admin.listen and admin.tls', () => {
    for (const listen of ['0.0.0.0:8081', '[::]:8081', '192.0.2.7:8081', '10.0.0.1:0', 'admin.example:8081', '127.example:8081', '[::2]:8081']) {
      assert.throws(() => load({ PORTCULLIS_ADMIN_LISTEN: listen }), (error: ConfigError) => error instanceof ConfigError && /admin\.listen \(from PORTCULLIS_ADMIN_LISTEN\): .* is not a loopback address, and admin\.tls is not set/.test(error.message) && /admin\.insecurePlaintextRemote/.test(error.message), listen);
    }
  });

  it('accept loopback listeners without TLS, remote ones with TLS, and plain remote ones only when asked by name', () => {
    for (const listen of ['127.0.0.1:8081', '127.4.5.6:0', '[::1]:8081', '[::ffff:127.0.0.1]:8081', 'localhost:8081', 'LOCALHOST:8081', '8081']) {
      assert.equal(load({ PORTCULLIS_ADMIN_LISTEN: listen }).admin.insecurePlaintextRemote, false, listen);
    }
    assert.notEqual(load({ PORTCULLIS_ADMIN_LISTEN: '0.0.0.0:8081', PORTCULLIS_ADMIN_TLS_CERT: 'a.pem', PORTCULLIS_ADMIN_TLS_KEY: 'a.key' }).admin.tls, null);
    const insecure = load({ PORTCULLIS_ADMIN_LISTEN: '0.0.0.0:8081', PORTCULLIS_ADMIN_INSECURE_PLAINTEXT_REMOTE: 'true' }).admin;
    assert.deepEqual([insecure.listen, insecure.tls, insecure.insecurePlaintextRemote], [{ host: '0.0.0.0', port: 8081 }, null, true]);
  });

  it('refuse a malformed listener or retention, naming the field and its source', () => {
    assert.throws(() => load({ PORTCULLIS_ADMIN_LISTEN: 'everywhere' }), (error: ConfigError) => /admin\.listen \(from PORTCULLIS_ADMIN_LISTEN\): expected HOST:PORT/.test(error.message));
    assert.throws(() => load({ PORTCULLIS_USAGE_RETENTION: 'forever' }), (error: ConfigError) => /usage\.retention \(from PORTCULLIS_USAGE_RETENTION\): expected a duration/.test(error.message));
  });
});
