/**
 * The store write thread's script (src/store/write-thread/store-write-worker.ts) with one way
 * to crash it, for the tests of its restart: a `recordUsage` batch whose first key id is
 * CRASHING_KEY_ID throws on the thread, uncaught.
 */
import { parentPort } from 'node:worker_threads';

const CRASHING_KEY_ID = 'crash-the-write-thread';

parentPort?.on('message', (request: { method: string; argument: unknown }) => {
  if (request.method === 'recordUsage' && (request.argument as Array<{ keyId: string }>)[0]?.keyId === CRASHING_KEY_ID) throw new Error('the write thread crashed on purpose');
});
await import('../../src/store/write-thread/store-write-worker.ts');
