import { Worker } from 'node:worker_threads';
import type { KeyUsage, QuotaUsage, QuotaUsageDelta } from '../key-store.ts';
import type { AnomalyFinding, AnomalyFindingResult, KeyProfileQuery, KeyProfileWrite, StoredKeyProfile } from '../anomaly-store.ts';
import type { NodeHeartbeat } from '../node-heartbeats.ts';
import type { ApiUsageMinute, UsageMinute, WouldDenyMinute } from '../usage-store.ts';
import type { StoreWrites } from '../usage-writes.ts';
import type { StoreWriteWorkerData } from './store-write-worker.ts';
import { receivedError, type WriteMethod, type WriteReply, type WriteRequest } from './write-messages.ts';

/** `.ts` here, `.js` in the package: scripts/build-package.ts rewrites this URL. */
const WORKER_SCRIPT = new URL('./store-write-worker.ts', import.meta.url);
/** How long `close` waits for the thread to close its connection before terminating it. */
const CLOSE_TIMEOUT_MS = 5000;
/** A thread that crashes this soon after it started is restarted after a growing delay (up to MAX_RESTART_DELAY_MS). */
const STEADY_AFTER_MS = 10_000;
const FIRST_RESTART_DELAY_MS = 100;
const MAX_RESTART_DELAY_MS = 30_000;

export interface StoreWriteThreadOptions {
  /** The thread died (an uncaught error, or an exit nobody asked for); it is restarted after this returns. */
  onCrash: (error: Error) => void;
  /** An error on an idle connection of the thread's own pool (PostgreSQL). */
  onConnectionError?: (error: Error) => void;
  /** The thread's script; tests give one that can be made to crash. */
  script?: URL;
}

interface Waiting {
  resolve: (result: unknown) => void;
  reject: (error: Error) => void;
}

/**
 * `StoreWrites` (usage batches and this node's heartbeat) served by a worker thread that owns its own store connection, so no store work
 * (a SQLite transaction, a pg result parsed) runs on the thread that answers requests. Each
 * call posts one message holding its whole batch and resolves with the thread's answer; the
 * batching, retry and drop rules stay with the callers (usage-batch-queue.ts,
 * quota-ledger.ts), which hold the batches in memory until a write succeeds.
 *
 * A call made while the thread is down, or cut off by a crash, fails with an error that
 * `storeRefusedWrite` counts as an outage: its batch is kept and written by a later flush
 * (a crash after a commit but before the answer writes that batch twice, once: per-minute
 * usage counted twice, a quota charged twice, never less). The thread is restarted at once,
 * later and later if it keeps crashing.
 */
export class StoreWriteThread implements StoreWrites {
  readonly #location: string;
  readonly #options: StoreWriteThreadOptions;
  readonly #waiting = new Map<number, Waiting>();
  #worker: Worker | null = null;
  #nextId = 1;
  #startedAt = 0;
  #restartDelay = 0;
  #restartTimer: NodeJS.Timeout | undefined;
  #closing = false;

  constructor(location: string, options: StoreWriteThreadOptions) {
    this.#location = location;
    this.#options = options;
    this.#start();
  }

  recordUsage(batch: KeyUsage[]): Promise<void> {
    return this.#call('recordUsage', batch) as Promise<void>;
  }

  recordUsageMinutes(batch: UsageMinute[]): Promise<void> {
    return this.#call('recordUsageMinutes', batch) as Promise<void>;
  }

  recordWouldDenyMinutes(batch: WouldDenyMinute[]): Promise<void> {
    return this.#call('recordWouldDenyMinutes', batch) as Promise<void>;
  }

  recordApiUsageMinutes(batch: ApiUsageMinute[]): Promise<void> {
    return this.#call('recordApiUsageMinutes', batch) as Promise<void>;
  }

  purgeUsageBefore(minute: number): Promise<number> {
    return this.#call('purgeUsageBefore', minute) as Promise<number>;
  }

  addQuotaUsage(batch: QuotaUsageDelta[]): Promise<QuotaUsage[]> {
    return this.#call('addQuotaUsage', batch) as Promise<QuotaUsage[]>;
  }

  getQuotaUsage(keyId: string): Promise<QuotaUsage | null> {
    return this.#call('getQuotaUsage', keyId) as Promise<QuotaUsage | null>;
  }

  writeNodeHeartbeat(heartbeat: NodeHeartbeat): Promise<void> {
    return this.#call('writeNodeHeartbeat', heartbeat) as Promise<void>;
  }

  pruneNodeHeartbeats(before: number): Promise<number> {
    return this.#call('pruneNodeHeartbeats', before) as Promise<number>;
  }

  recordKeyProfiles(batch: KeyProfileWrite[]): Promise<void> {
    return this.#call('recordKeyProfiles', batch) as Promise<void>;
  }

  loadKeyProfiles(query: KeyProfileQuery): Promise<StoredKeyProfile[]> {
    return this.#call('loadKeyProfiles', query) as Promise<StoredKeyProfile[]>;
  }

  recordAnomalyFindings(batch: AnomalyFinding[]): Promise<AnomalyFindingResult[]> {
    return this.#call('recordAnomalyFindings', batch) as Promise<AnomalyFindingResult[]>;
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
    await Promise.race([this.#call('close', null).catch(() => {}), timeout]);
    clearTimeout(timer);
    this.#worker = null;
    await worker.terminate();
  }

  #call(method: WriteMethod | 'close', argument: unknown): Promise<unknown> {
    const worker = this.#worker;
    if (worker === null) return Promise.reject(new Error(this.#closing ? 'the store write thread is closed' : 'the store write thread is restarting'));
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      // Held open only while an answer is awaited: an idle thread never keeps the process alive.
      if (this.#waiting.size === 0) worker.ref();
      this.#waiting.set(id, { resolve, reject });
      worker.postMessage({ id, method, argument } satisfies WriteRequest);
    });
  }

  #start(): void {
    const worker = new Worker(this.#options.script ?? WORKER_SCRIPT, { workerData: { location: this.#location } satisfies StoreWriteWorkerData, name: 'portcullis store writes' });
    worker.unref();
    this.#worker = worker;
    this.#startedAt = performance.now();
    let crash: Error | null = null;
    worker.on('message', (reply: WriteReply) => this.#answer(worker, reply));
    worker.on('error', (error) => (crash = error));
    worker.on('exit', (code) => this.#exited(worker, crash ?? new Error(`the store write thread exited with code ${code}`)));
  }

  #answer(worker: Worker, reply: WriteReply): void {
    if (reply.id === null) {
      this.#options.onConnectionError?.(receivedError(reply.connectionError));
      return;
    }
    const waiting = this.#waiting.get(reply.id);
    if (waiting === undefined) return;
    this.#waiting.delete(reply.id);
    if (this.#waiting.size === 0) worker.unref();
    if ('error' in reply) waiting.reject(receivedError(reply.error));
    else waiting.resolve(reply.result);
  }

  #exited(worker: Worker, crash: Error): void {
    for (const waiting of this.#waiting.values()) waiting.reject(new Error('the store write thread stopped before answering', { cause: crash }));
    this.#waiting.clear();
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
}
