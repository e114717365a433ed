import { parentPort, workerData } from 'node:worker_threads';
import { openKeyStore } from '../open-key-store.ts';
import type { Store } from '../store.ts';
import { isWriteMethod, sendableError, type WriteReply, type WriteRequest } from './write-messages.ts';

/**
 * The store write thread (started by store-write-thread.ts): owns a store connection of its own
 * (better-sqlite3 opened here, or a `pg` pool of its own) and runs the batches the request
 * thread sends, one message each, answering with the result or the error. Requests run one at
 * a time, in the order they came: a SQLite transaction then never waits on another of its own.
 */

/** What the thread is started with. */
export interface StoreWriteWorkerData {
  /** The `store` setting: a SQLite path or a `postgres://` URL (migrated by the request thread already). */
  readonly location: string;
}

const port = parentPort;
if (port === null) throw new Error('store-write-worker.ts runs as a worker thread');
const { location } = workerData as StoreWriteWorkerData;

let store: Promise<Store> | null = null;
let queue: Promise<void> = Promise.resolve();

/** The connection, opened on first need and again after a failed open (the store may have been out of reach). */
function connection(): Promise<Store> {
  if (store !== null) return store;
  const opening = openKeyStore(location, {
    onConnectionError: (error) => port!.postMessage({ id: null, connectionError: sendableError(error) } satisfies WriteReply),
  });
  opening.catch(() => {
    if (store === opening) store = null;
  });
  store = opening;
  return opening;
}

async function run(request: WriteRequest): Promise<unknown> {
  if (request.method === 'close') {
    const opened = store;
    store = null;
    if (opened !== null) await (await opened.catch(() => null))?.close();
    return null;
  }
  if (!isWriteMethod(request.method)) throw new Error(`unknown store write method ${String(request.method)}`);
  const opened = await connection();
  // One argument each (a batch, a time, a key id); the method name was checked above.
  const method = opened[request.method] as (argument: unknown) => Promise<unknown>;
  return method.call(opened, request.argument);
}

port.on('message', (request: WriteRequest) => {
  queue = queue.then(async () => {
    let reply: WriteReply;
    try {
      reply = { id: request.id, result: await run(request) };
    } catch (error) {
      reply = { id: request.id, error: sendableError(error) };
    }
    port.postMessage(reply);
  });
});

// Opened at once, so the first flush does not wait for it; a failure is retried by that flush.
connection().catch(() => {});
