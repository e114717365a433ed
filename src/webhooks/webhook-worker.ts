/**
 * The webhook thread (`webhook-thread.ts` starts it): the dispatcher with a store connection
 * of its own, so the audit reads, delivery writes and HTTP attempts never run on the thread
 * that answers requests (a SQLite write that waits for the lock would hold that thread).
 * Log lines and store errors go to the parent as messages; `stop` ends the round in progress
 * and closes the connection.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { Logger } from 'pino';
import { openWebhookDeliveries } from '../store/webhooks/open-webhook-deliveries.ts';
import { WebhookDispatcher } from './webhook-dispatcher.ts';
import type { WebhookEvent } from './webhook-events.ts';

/** What the parent hands the thread: the settings, with each endpoint's secret as bytes. */
export interface WebhookWorkerData {
  location: string;
  endpoints: Array<{ url: string; events: WebhookEvent[]; key: Uint8Array }>;
  pollInterval: number;
  timeout: number;
  maxAttempts: number;
  retryDelay: number;
  maxRetryDelay: number;
  expiringWithin: number;
}

/** What the thread tells its parent. */
export type WebhookWorkerMessage =
  | { type: 'log'; level: 'debug' | 'info' | 'warn' | 'error'; object: Record<string, unknown>; message: string }
  | { type: 'store-error'; message: string }
  | { type: 'stopped' };

const port = parentPort;
const data = workerData as WebhookWorkerData;

function send(message: WebhookWorkerMessage): void {
  port?.postMessage(message);
}

/** A logger with the calls the dispatcher makes, each line sent to the parent's logger. */
const logger = Object.fromEntries((['debug', 'info', 'warn', 'error'] as const).map((level) => [level, (object: Record<string, unknown>, message: string) => send({ type: 'log', level, object, message })])) as unknown as Logger;

const deliveries = await openWebhookDeliveries(data.location, (error) => send({ type: 'store-error', message: error.message }));
if (deliveries === null) throw new Error('webhooks need a store their deliveries can be kept in');
const dispatcher = new WebhookDispatcher({
  ...data,
  store: deliveries,
  endpoints: data.endpoints.map((endpoint) => ({ url: endpoint.url, events: new Set(endpoint.events), key: Buffer.from(endpoint.key) })),
  logger,
  onStoreError: (error) => send({ type: 'store-error', message: (error as Error).message ?? String(error) }),
});
dispatcher.start();

port?.on('message', (message: unknown) => {
  if (message !== 'stop') return;
  void dispatcher
    .stop()
    .then(() => deliveries.close())
    .finally(() => {
      send({ type: 'stopped' });
      port.close();
    });
});
