/**
 * The change feed thread's script (src/store/feed-thread/change-feed-worker.ts) with two ways
 * to break it, for the tests of its supervision, switched by files beside the store so a test
 * can flip them while the thread runs: while `<store>.crash` exists, every read throws on the
 * thread, uncaught (the thread dies); while `<store>.hang` exists, a read never returns (the
 * thread spins until it is terminated). While `<store>.log` exists, each message's method and
 * argument count are appended to it, one line each, so a test can see what was asked. While
 * `<store>.reverse` or `<store>.truncate` exists, a reply whose result is a list comes back
 * reversed, or without its last item (a thread that answers wrongly).
 */
import { appendFileSync, existsSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';

const { location } = workerData as { location: string };

// The real script posts through this same port, so its replies pass through here.
if (parentPort !== null) {
  const port = parentPort;
  const post = port.postMessage.bind(port);
  port.postMessage = (reply: { result?: unknown }) => {
    if (Array.isArray(reply.result) && existsSync(`${location}.reverse`)) reply = { ...reply, result: [...reply.result].reverse() };
    if (Array.isArray(reply.result) && existsSync(`${location}.truncate`)) reply = { ...reply, result: reply.result.slice(0, -1) };
    post(reply);
  };
}

parentPort?.on('message', (request: { method: string; args: unknown[] }) => {
  if (existsSync(`${location}.log`)) appendFileSync(`${location}.log`, `${request.method} ${request.args.length}\n`);
  if (request.method === 'close') return;
  if (existsSync(`${location}.crash`)) throw new Error('the change feed thread crashed on purpose');
  if (existsSync(`${location}.hang`)) for (;;);
});
await import('../../src/store/feed-thread/change-feed-worker.ts');
