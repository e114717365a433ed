import { Worker } from 'node:worker_threads';
import type { KeyRecord } from '../../keys/key-record.ts';
import type { ChangeBatch, ChangeFeedReads, KeyLookups } from '../change-feed-reads.ts';
import { receivedError } from '../write-thread/write-messages.ts';
import type { ChangeFeedWorkerData, FeedMethod, FeedReply, FeedRequest } from './feed-messages.ts';

/** `.ts` here, `.js` in the package: scripts/build-package.ts rewrites this URL. */
const WORKER_SCRIPT = new URL('./change-feed-worker.ts', import.meta.url);
/** How long `close` waits for the thread to close its connection before terminating it. */
const CLOSE_TIMEOUT_MS = 5000;
/** A read unanswered for this long (SQLite's busy timeout is 5 s): the thread is stuck and is replaced. */
const DEFAULT_STALL_TIMEOUT_MS = 10_000;
/** A thread that dies this soon after it started is restarted after a growing delay (up to MAX_RESTART_DELAY_MS). */
const STEADY_AFTER_MS = 10_000;
const FIRST_RESTART_DELAY_MS = 100;
const MAX_RESTART_DELAY_MS = 30_000;

export interface ChangeFeedThreadOptions {
  /** The thread died (an uncaught error, an exit nobody asked for, or a read stuck past `stallTimeout`); it is restarted after this returns. */
  onCrash: (error: Error) => void;
  /** A read not answered after this many ms ends the thread (which is then restarted). Default 10 s. */
  stallTimeout?: number;
  /** The thread's script; tests give one that can be made to crash or hang. */
  script?: URL;
}

interface Waiting {
  worker: Worker;
  resolve: (result: unknown) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

/**
 * The change feed's reads of a SQLite store (`ChangeFeedReads`) and the key cache's lookups
 * (`KeyLookups`: a key presented for the first time), served by a worker thread that owns a
 * read-only connection of its own, so neither the follower's polls nor a cache miss run a query
 * or decode a row on the thread that answers requests: this thread only posts a request and
 * uses the events and records that come back.
 *
 * It fails closed: a read is answered only once it has reached the store. A read made while
 * the thread is down, cut off because the thread died, or not answered within `stallTimeout`
 * (the thread is then terminated) rejects, and the follower counts it as an unreachable store,
 * exactly as a failed query. The thread is restarted at once, later and later if it keeps dying.
 */
export class ChangeFeedThread implements ChangeFeedReads, KeyLookups {
  readonly #location: string;
  readonly #options: ChangeFeedThreadOptions;
  readonly #stallTimeout: number;
  readonly #waiting = new Map<number, Waiting>();
  /** Digests asked since the last batch was sent (`getKeyByDigest`). */
  #digestBatch: Array<{ digest: string; resolve: (record: KeyRecord | null) => void; reject: (error: Error) => void }> = [];
  #worker: Worker | null = null;
  #nextId = 1;
  #startedAt = 0;
  #restartDelay = 0;
  #restartTimer: NodeJS.Timeout | undefined;
  #closing = false;

  constructor(location: string, options: ChangeFeedThreadOptions) {
    this.#location = location;
    this.#options = options;
    this.#stallTimeout = options.stallTimeout ?? DEFAULT_STALL_TIMEOUT_MS;
    this.#start();
  }

  latestEventSeq(): Promise<number> {
    return this.#call('latestEventSeq', []) as Promise<number>;
  }

  changesSince(afterSeq: number, limit: number): Promise<ChangeBatch> {
    return this.#call('changesSince', [afterSeq, limit]) as Promise<ChangeBatch>;
  }

  /** The unrevoked keys used most recently, newest first: the key cache's warm-up at start reads them here. */
  recentlyUsedKeys(limit: number): Promise<KeyRecord[]> {
    return this.#call('recentlyUsedKeys', [limit]) as Promise<KeyRecord[]>;
  }

  /**
   * Asked on every miss of the key cache: the digests asked in one turn of the event loop go
   * to the thread in one message (setImmediate runs after the turn's I/O callbacks), as a
   * message is what a miss costs this thread, and are read in one read transaction.
   */
  getKeyByDigest(digest: string): Promise<KeyRecord | null> {
    return new Promise((resolve, reject) => {
      if (this.#digestBatch.length === 0) setImmediate(this.#sendDigestBatch);
      this.#digestBatch.push({ digest, resolve, reject });
    });
  }

  readonly #sendDigestBatch = (): void => {
    const batch = this.#digestBatch;
    this.#digestBatch = [];
    const fail = (error: Error): void => {
      for (const asked of batch) asked.reject(error);
    };
    (this.#call('getKeysByDigest', batch.map((asked) => asked.digest)) as Promise<Array<KeyRecord | null>>).then((records) => {
      // One answer per digest, each null or that digest's record, or none is trusted: a missing
      // answer must not read as "no such key", nor another key's record authenticate this one.
      if (records.length !== batch.length) return fail(new Error(`the change feed thread answered ${records.length} of ${batch.length} key lookups`));
      if (records.some((record, index) => record !== null && record.digest !== batch[index]!.digest)) return fail(new Error('the change feed thread answered a key lookup with another digest\'s record'));
      for (let index = 0; index < batch.length; index++) batch[index]!.resolve(records[index]!);
    }, fail);
  };

  getKeyById(id: string): Promise<KeyRecord | null> {
    return this.#call('getKeyById', [id]) as Promise<KeyRecord | null>;
  }

  getKeysByCertFingerprint(fingerprint: string): Promise<KeyRecord[]> {
    return this.#call('getKeysByCertFingerprint', [fingerprint]) as Promise<KeyRecord[]>;
  }

  /** Closes the thread's connection (waiting up to CLOSE_TIMEOUT_MS for it), then ends the thread. */
  async close(): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    clearTimeout(this.#restartTimer);
    const worker = this.#worker;
    if (worker === null) return;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise((resolve) => (timer = setTimeout(resolve, CLOSE_TIMEOUT_MS)));
    await Promise.race([this.#call('close', [], worker).catch(() => {}), timeout]);
    clearTimeout(timer);
    this.#worker = null;
    await worker.terminate();
    this.#rejectWaiting(worker, new Error('the change feed thread is closed'));
  }

  #call(method: FeedMethod, args: (number | string)[], worker = this.#closing ? null : this.#worker): Promise<unknown> {
    if (worker === null) return Promise.reject(new Error(this.#closing ? 'the change feed thread is closed' : 'the change feed thread is restarting'));
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      // Held open only while an answer is awaited: an idle thread never keeps the process alive.
      worker.ref();
      const timer = setTimeout(() => this.#stalled(worker, method), this.#stallTimeout);
      timer.unref();
      this.#waiting.set(id, { worker, resolve, reject, timer });
      worker.postMessage({ id, method, args } satisfies FeedRequest);
    });
  }

  #start(): void {
    const worker = new Worker(this.#options.script ?? WORKER_SCRIPT, { workerData: { location: this.#location } satisfies ChangeFeedWorkerData, name: 'portcullis change feed reads' });
    worker.unref();
    this.#worker = worker;
    this.#startedAt = performance.now();
    let crash: Error | null = null;
    worker.on('message', (reply: FeedReply) => this.#answer(worker, reply));
    worker.on('error', (error) => (crash = error));
    worker.on('exit', (code) => this.#replace(worker, crash ?? new Error(`the change feed thread exited with code ${code}`)));
  }

  #answer(worker: Worker, reply: FeedReply): void {
    const waiting = this.#waiting.get(reply.id);
    if (waiting === undefined) return;
    this.#waiting.delete(reply.id);
    clearTimeout(waiting.timer);
    if (!this.#awaits(worker)) worker.unref();
    if ('error' in reply) waiting.reject(receivedError(reply.error));
    else waiting.resolve(reply.result);
  }

  /**
   * A read has gone unanswered for `stallTimeout`: the thread is stuck. Its reads fail now and a
   * new thread is started, without waiting for the stuck one to end (a native call ends
   * only when it returns).
   */
  #stalled(worker: Worker, method: FeedMethod): void {
    if (worker !== this.#worker) return;
    this.#replace(worker, new Error(`the change feed thread did not answer ${method} within ${this.#stallTimeout} ms; terminating it`));
    void worker.terminate();
  }

  /** The thread died or is stuck: fail what it had not answered, report it, start another. */
  #replace(worker: Worker, crash: Error): void {
    this.#rejectWaiting(worker, new Error('the change feed thread stopped before answering', { cause: crash }));
    if (this.#closing || worker !== this.#worker) return;
    this.#worker = null;
    this.#options.onCrash(crash);
    const ranFor = performance.now() - this.#startedAt;
    this.#restartDelay = ranFor >= STEADY_AFTER_MS ? 0 : Math.min(MAX_RESTART_DELAY_MS, Math.max(FIRST_RESTART_DELAY_MS, this.#restartDelay * 2));
    this.#restartTimer = setTimeout(() => {
      if (!this.#closing) this.#start();
    }, this.#restartDelay);
    this.#restartTimer.unref();
  }

  #awaits(worker: Worker): boolean {
    for (const waiting of this.#waiting.values()) if (waiting.worker === worker) return true;
    return false;
  }

  /** Fails every read `worker` has not answered; it then holds the process open no longer. */
  #rejectWaiting(worker: Worker, error: Error): void {
    worker.unref();
    for (const [id, waiting] of this.#waiting) {
      if (waiting.worker !== worker) continue;
      clearTimeout(waiting.timer);
      this.#waiting.delete(id);
      waiting.reject(error);
    }
  }
}
