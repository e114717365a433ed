import { Worker } from 'node:worker_threads';
import type { WebhookDispatcherOptions } from './webhook-dispatcher.ts';
import type { WebhookWorkerData, WebhookWorkerMessage } from './webhook-worker.ts';

const WORKER_SCRIPT = new URL('./webhook-worker.ts', import.meta.url);
/** A thread that dies is started again after this long; deliveries wait in the store meanwhile. */
const RESTART_DELAY_MS = 1000;
/** How long `close` waits for the round in progress (an attempt is bounded by `webhooks.timeout`) beyond the timeout itself. */
const CLOSE_MARGIN_MS = 5000;

/** The dispatcher's settings (it runs in the thread, with a store of its own), and where that store is. */
export interface WebhookThreadOptions extends Omit<WebhookDispatcherOptions, 'store' | 'send' | 'now' | 'onStoreError'> {
  location: string;
  onStoreError(error: Error): void;
}

/**
 * The webhook dispatcher on a thread of its own (`webhook-worker.ts`). Nothing is handed to
 * it per event: it reads the audit log and the deliveries from the store, so a thread that
 * dies and is restarted loses nothing.
 */
export class WebhookThread {
  readonly #options: WebhookThreadOptions;
  #worker: Worker | null = null;
  #closing = false;
  #restartTimer: NodeJS.Timeout | undefined;

  constructor(options: WebhookThreadOptions) {
    this.#options = options;
    this.#start();
  }

  #start(): void {
    const { location, endpoints, pollInterval, timeout, maxAttempts, retryDelay, maxRetryDelay, expiringWithin, logger } = this.#options;
    const workerData: WebhookWorkerData = { location, endpoints: endpoints.map((endpoint) => ({ url: endpoint.url, events: [...endpoint.events], key: new Uint8Array(endpoint.key) })), pollInterval, timeout, maxAttempts, retryDelay, maxRetryDelay, expiringWithin };
    const worker = new Worker(WORKER_SCRIPT, { workerData, name: 'portcullis webhooks' });
    this.#worker = worker;
    worker.on('message', (message: WebhookWorkerMessage) => {
      if (message.type === 'log') logger[message.level](message.object, message.message);
      else if (message.type === 'store-error') this.#options.onStoreError(new Error(message.message));
    });
    worker.on('error', (error) => logger.error({ err: error }, 'webhook thread failed; restarting it (deliveries wait in the store)'));
    worker.on('exit', () => {
      if (this.#worker === worker) this.#worker = null;
      if (!this.#closing) this.#restartTimer = setTimeout(() => this.#start(), RESTART_DELAY_MS);
    });
  }

  /** Asks the thread to finish its round and close its connection; terminates it if it takes too long. */
  async close(): Promise<void> {
    this.#closing = true;
    clearTimeout(this.#restartTimer);
    const worker = this.#worker;
    if (worker === null) return;
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    worker.postMessage('stop');
    const deadline = setTimeout(() => void worker.terminate(), this.#options.timeout + CLOSE_MARGIN_MS);
    await exited;
    clearTimeout(deadline);
  }
}
