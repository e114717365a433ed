/**
 * What the gateway logs while its store is unreachable: the failures that repeat with every
 * poll and every flush come out once per interval with a count (src/telemetry/rate-limited-log.ts),
 * not once each; and nothing counted is lost when the gateway stops.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../src/app/config.ts';
import { startGateway, type RunningGateway } from '../../src/app/gateway.ts';
import { generateKey } from '../../src/keys/key-format.ts';
import { openKeyStore } from '../../src/store/open-key-store.ts';
import type { Store } from '../../src/store/store.ts';
import { createLogger } from '../../src/telemetry/logger.ts';
import { breakableStore, type BreakableStore } from '../support/breakable-store.ts';
import { callWithKey as call } from '../support/gateway-probes.ts';
import { createKeyInStore } from '../support/in-process-gateway.ts';
import { temporaryDirectory } from '../support/processes.ts';
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.ts';

interface LogLine {
  msg: string;
  count?: number;
  err?: { message: string; stack?: string };
}

describe('logs while the store is unreachable', () => {
  const directory = temporaryDirectory();
  const storePath = join(directory.path, 'keys.db');
  const lines: LogLine[] = [];
  let inner: Store;
  let breakable: BreakableStore;
  let upstream: RecordingUpstream;
  let gateway: RunningGateway;
  let url: string;
  let known: { id: string; key: string };

  function logged(message: string): LogLine[] {
    return lines.filter((line) => line.msg === message);
  }

  before(async () => {
    known = await createKeyInStore(storePath);
    upstream = await startRecordingUpstream();
    inner = await openKeyStore(storePath);
    breakable = breakableStore(inner);
    const config = loadConfig({
      // No per-address limits: the flood of unknown keys below comes from one address.
      env: { PORTCULLIS_CHANGE_FEED_POLL_INTERVAL: '10ms', PORTCULLIS_USAGE_FLUSH_INTERVAL: '10ms', PORTCULLIS_CHANGE_FEED_STALE_FOR: '1m', PORTCULLIS_LIMITS_ADDRESS_RATE: '100000/s', PORTCULLIS_LOCKOUT_MAX_FAILURES: '0' },
      flags: [
        { field: 'listen', value: '127.0.0.1:0', flag: '--listen' },
        { field: 'upstream.url', value: upstream.url, flag: '--upstream' },
        { field: 'store', value: storePath, flag: '--store' },
        { field: 'admin.listen', value: '127.0.0.1:0', flag: '--admin-listen' },
      ],
    });
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const text of chunk.toString().split('\n')) if (text !== '') lines.push(JSON.parse(text) as LogLine);
        done();
      },
    });
    gateway = await startGateway(config, createLogger('debug', destination), { store: breakable.store });
    url = `http://127.0.0.1:${gateway.address.port}`;
  });
  after(async () => {
    await upstream.close();
    await inner.close();
    directory.remove();
  });

  it('logs a failed poll and a failed usage flush once, not once per poll or flush', async () => {
    assert.equal((await call(url, known.key)).status, 200);
    breakable.break();
    // At least 600 ms, and at least 15 failed flushes (a loaded machine runs fewer timers in 600 ms).
    const until = Date.now() + 600;
    const giveUp = Date.now() + 20_000;
    const failedFlushes = () => Math.max(breakable.failedCalls('recordUsage'), breakable.failedCalls('recordUsageMinutes'));
    let unknown = 0;
    while ((Date.now() < until || failedFlushes() < 15) && Date.now() < giveUp) {
      // Known keys are served from memory, and counted for a usage flush that keeps failing.
      assert.equal((await call(url, known.key)).status, 200);
      assert.equal((await call(url, generateKey('pcl'))).code, 'store_unavailable');
      unknown++;
    }
    assert.ok(failedFlushes() >= 15, `${failedFlushes()} failed flushes`);
    // Dozens of polls and flushes failed: one line each so far, with the first error's stack.
    for (const message of ['change feed poll failed; retrying', 'usage flush failed; will retry']) {
      const found = logged(message);
      assert.equal(found.length, 1, `${message}: ${found.length} lines`);
      assert.equal(found[0]!.count, 1);
      assert.match(found[0]!.err?.stack ?? '', /ECONNREFUSED/);
    }
    process.stdout.write(`# ${unknown} unknown keys refused with 503 meanwhile; "key store lookup failed" was logged ${logged('key store lookup failed').length} times (src/policies/key-auth/index.ts)\n`);
  });

  it('writes what it counted when the gateway stops, and loses no usage', async () => {
    breakable.repair();
    await gateway.stop();
    const flushes = logged('usage flush failed; will retry');
    assert.equal(flushes.length, 2, 'the first failure, and the count of the rest at shutdown');
    assert.ok((flushes[1]!.count ?? 0) > 10, `count ${flushes[1]!.count}`);
    const usage = await inner.usageSeries(known.id, 0, Date.now() + 60_000);
    const served = usage.reduce((sum, point) => sum + point.requests, 0);
    assert.ok(served > 10, `the requests served during the outage were written once the store was back (${served})`);
  });
});
