import { loadConfig, type Config } from '../../src/app/config.ts';
import { startGateway, type RunningGateway } from '../../src/app/gateway.ts';
import { createLogger } from '../../src/telemetry/logger.ts';
import { openKeyStore } from '../../src/store/open-key-store.ts';
import type { Store } from '../../src/store/store.ts';
import { CLI_ACTOR } from '../../src/store/audit-log.ts';
import { digestKey } from '../../src/keys/key-digest.ts';
import { displayPrefixOf, generateKey, generateKeyId } from '../../src/keys/key-format.ts';
import type { KeySettings } from '../../src/keys/key-record.ts';

export interface TestGateway {
  url: string;
  gateway: RunningGateway;
  config: Config;
  stop(): Promise<void>;
}

/** Starts a gateway in this process with a config built from flags-like overrides. */
export async function startTestGateway(
  upstream: string,
  storePath: string,
  options: { env?: Record<string, string>; store?: Store } = {},
): Promise<TestGateway> {
  const config = loadConfig({
    env: { PORTCULLIS_LOG_LEVEL: 'silent', PORTCULLIS_CHANGE_FEED_POLL_INTERVAL: '20ms', ...options.env },
    flags: [
      { field: 'listen', value: '127.0.0.1:0', flag: '--listen' },
      { field: 'upstream.url', value: upstream, flag: '--upstream' },
      { field: 'store', value: storePath, flag: '--store' },
      // A free port, so tests running side by side never fight over the default one.
      { field: 'admin.listen', value: options.env?.PORTCULLIS_ADMIN_LISTEN === undefined ? '127.0.0.1:0' : undefined, flag: '--admin-listen' },
    ],
  });
  const gateway = await withinStartTimeout(startGateway(config, createLogger('silent'), options.store ? { store: options.store } : {}));
  return { url: `${gateway.protocol}://127.0.0.1:${gateway.address.port}`, gateway, config, stop: () => gateway.stop() };
}

const START_TIMEOUT_MS = 15_000;

/**
 * The started gateway, or an error after 15 s; a gateway that starts after that is stopped at
 * once, so that its listeners and timers cannot keep the test file alive after the test failed.
 */
function withinStartTimeout(starting: Promise<RunningGateway>): Promise<RunningGateway> {
  return new Promise((resolve, reject) => {
    let late = false;
    const timer = setTimeout(() => {
      late = true;
      reject(new Error(`the gateway did not start in ${START_TIMEOUT_MS} ms`));
    }, START_TIMEOUT_MS);
    starting.then(
      (gateway) => {
        clearTimeout(timer);
        if (late) void gateway.stop();
        else resolve(gateway);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

/** Creates a key directly in a store (faster than the CLI when the CLI is not under test). */
export async function createKeyInStore(storePath: string, settings: Partial<KeySettings> = {}, now = Date.now()): Promise<{ id: string; key: string }> {
  const store = await openKeyStore(storePath);
  try {
    await store.migrate();
    const key = generateKey('pcl');
    const id = generateKeyId();
    await store.createKey(
      { id, digest: digestKey(key), displayPrefix: displayPrefixOf(key), name: 'test', tags: [], scopes: [], allowedCidrs: [], certFingerprint: null, rateLimit: null, quota: null, metadata: {}, expiresAt: null, ...settings },
      now,
      CLI_ACTOR,
    );
    return { id, key };
  } finally {
    await store.close();
  }
}
