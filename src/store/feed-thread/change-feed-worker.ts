import { parentPort, workerData } from 'node:worker_threads';
import { openSqliteChangeFeedReads, type SqliteChangeFeedReads } from '../sqlite/sqlite-change-feed-reads.ts';
import { sendableError } from '../write-thread/write-messages.ts';
import type { ChangeFeedWorkerData, FeedReply, FeedRequest } from './feed-messages.ts';

/**
 * The change feed thread (started by change-feed-thread.ts): owns a read-only SQLite
 * connection and answers the follower's reads of the change log and the key cache's lookups of
 * key records, one message each, in the order they came, with the events and the decoded key
 * records. It never writes.
 */

const port = parentPort;
if (port === null) throw new Error('change-feed-worker.ts runs as a worker thread');
const { location } = workerData as ChangeFeedWorkerData;

let reads: SqliteChangeFeedReads | null = null;

/** The connection, opened on first need and again after a failed open (the file may be missing for a while). */
function connection(): SqliteChangeFeedReads {
  reads ??= openSqliteChangeFeedReads(location);
  return reads;
}

async function run(request: FeedRequest): Promise<unknown> {
  switch (request.method) {
    case 'latestEventSeq':
      return connection().latestEventSeq();
    case 'changesSince':
      return connection().changesSince(request.args[0] as number, request.args[1] as number);
    case 'recentlyUsedKeys':
      return connection().recentlyUsedKeys(request.args[0] as number);
    case 'getKeysByDigest':
      return connection().getKeysByDigest(request.args as string[]);
    case 'getKeyById':
      return connection().getKeyById(request.args[0] as string);
    case 'getKeysByCertFingerprint':
      return connection().getKeysByCertFingerprint(request.args[0] as string);
    case 'close':
      reads?.close();
      reads = null;
      return null;
    default:
      throw new Error(`unknown change feed method ${String(request.method)}`);
  }
}

// Every read is synchronous (better-sqlite3): one message is answered before the next is taken.
port.on('message', (request: FeedRequest) => {
  run(request).then(
    (result) => port.postMessage({ id: request.id, result } satisfies FeedReply),
    (error: unknown) => {
      // A failed read opens a new connection next time (the file may have been replaced or repaired).
      reads?.close();
      reads = null;
      port.postMessage({ id: request.id, error: sendableError(error) } satisfies FeedReply);
    },
  );
});
