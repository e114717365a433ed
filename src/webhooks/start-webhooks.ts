import type { Logger } from 'pino';
import { isInMemoryLocation } from '../store/store-location.ts';
import { openWebhookDeliveries } from '../store/webhooks/open-webhook-deliveries.ts';
import type { WebhookDeliveryStore } from '../store/webhooks/webhook-deliveries.ts';
import type { WebhookSettings } from './webhook-config.ts';
import { WebhookThread } from './webhook-thread.ts';

/** Records a started part and how to close it (the process's parts list); returns the part. */
type KeepRunning = <Part>(name: string, part: Part, close: (part: Part) => Promise<void> | void) => Part;

/**
 * Starts sending webhooks when `webhooks.endpoints` names any: the dispatcher on a thread of
 * its own (`webhook-thread.ts`), and a connection to the delivery tables for the admin API's
 * log. Returns that log, or null when this node sends none. The parts stop in reverse: the
 * thread finishes its round and exits, then the log's connection closes.
 */
export async function startWebhooks(config: WebhookSettings & { store: string }, logger: Logger, keep: KeepRunning, repeatedErrors: (message: string) => (error: unknown) => void): Promise<WebhookDeliveryStore | null> {
  const { endpoints, ...timing } = config.webhooks;
  if (endpoints.length === 0) return null;
  if (isInMemoryLocation(config.store)) {
    logger.warn('webhooks.endpoints is set, but the key store is in memory: webhooks need a store their deliveries can be kept in; none are sent');
    return null;
  }
  const onStoreError = repeatedErrors('webhooks: key store failed; will retry');
  // The admin API's reads of the delivery log, on this thread (reads never wait for a writer in WAL).
  const deliveries = keep('webhook delivery log', await openWebhookDeliveries(config.store, onStoreError), (opened) => opened?.close());
  if (deliveries === null) return null;
  // The first start sends what happens from now on: the cursor is set here, before the gateway
  // serves, not when the thread's first round runs (which would skip what happened meanwhile).
  if ((await deliveries.cursor()) === null) await deliveries.enqueue([], await deliveries.latestAuditSeq(), Date.now());
  keep('webhook thread', new WebhookThread({ location: config.store, endpoints, ...timing, logger, onStoreError }), (thread) => thread.close());
  logger.info({ endpoints: endpoints.map((endpoint) => endpoint.url) }, 'webhooks on');
  return deliveries;
}
