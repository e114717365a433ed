import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../app/config.ts';
import { ConfigError } from '../config/config-error.ts';

describe('websockets config', () => {
  it('is off by default, with bounded limits', () => {
    assert.deepEqual(loadConfig({ env: {} }).websockets, { enabled: false, maxMessageSize: 1024 * 1024, idleTimeout: 300_000, maxPerKey: 20 });
  });

  it('reads sizes and durations', () => {
    const { websockets } = loadConfig({ env: { PORTCULLIS_WEBSOCKETS_ENABLED: 'true', PORTCULLIS_WEBSOCKETS_MAX_MESSAGE_SIZE: '64kb', PORTCULLIS_WEBSOCKETS_IDLE_TIMEOUT: '30s', PORTCULLIS_WEBSOCKETS_MAX_PER_KEY: '3' } });
    assert.deepEqual(websockets, { enabled: true, maxMessageSize: 65536, idleTimeout: 30_000, maxPerKey: 3 });
  });

  it('refuses an idle timeout of 0 and a limit below 1, naming the field', () => {
    assert.throws(() => loadConfig({ env: { PORTCULLIS_WEBSOCKETS_IDLE_TIMEOUT: '0' } }), (error: unknown) => error instanceof ConfigError && /websockets\.idleTimeout/.test(error.message));
    assert.throws(() => loadConfig({ env: { PORTCULLIS_WEBSOCKETS_MAX_PER_KEY: '0' } }), /websockets\.maxPerKey/);
  });
});
