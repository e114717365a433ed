import type { Logger } from 'pino';
import { request } from 'undici';
import type { Delivery, WebhookDeliveryStore } from '../store/webhooks/webhook-deliveries.ts';
import { signedWebhookHeaders } from './standard-webhooks.ts';
import { deliveriesOf, expiringDeliveries, type EventSubscriber } from './webhook-events.ts';

/** An endpoint with the key its requests are signed with. */
export interface WebhookEndpoint extends EventSubscriber {
  key: Buffer;
}

/** Sends one request; resolves with the HTTP status, rejects when there is no answer (network, timeout). */
export type WebhookSender = (url: string, headers: Record<string, string>, body: string, timeoutMs: number) => Promise<number>;

export interface WebhookDispatcherOptions {
  store: WebhookDeliveryStore;
  endpoints: readonly WebhookEndpoint[];
  /** How often the audit log is read and due deliveries are sent (ms). */
  pollInterval: number;
  /** How long one attempt may take (ms). */
  timeout: number;
  /** Attempts before a delivery is given up (status `failed`). */
  maxAttempts: number;
  /** The wait after the first failed attempt (ms); it doubles after each, up to `maxRetryDelay`. */
  retryDelay: number;
  maxRetryDelay: number;
  /** How long before a key's expiry its `key.expiring` event is sent (ms). */
  expiringWithin: number;
  logger: Logger;
  /** Called with a store error (logged rate-limited by the caller). */
  onStoreError(error: unknown): void;
  send?: WebhookSender;
  now?: () => number;
}

/** Audit entries read per query, deliveries claimed per round. */
const AUDIT_PAGE = 500;
const CLAIMED_PER_ROUND = 20;
/** Beyond the attempt's timeout, how long a claimed delivery stays leased to this node. */
const LEASE_MARGIN_MS = 5000;
/** How often the keys are read for `key.expiring` (at most; the first round reads them), and how many per query. */
const EXPIRING_SCAN_INTERVAL_MS = 60_000;
const EXPIRING_PAGE = 500;
/** The longest error text kept in the delivery log. */
const MAX_ERROR_LENGTH = 300;

/** The default sender: undici, the body as given, the answer's body read and dropped. */
const sendWithUndici: WebhookSender = async (url, headers, body, timeoutMs) => {
  // Redirects are not followed (undici's default): a 3xx is a failed attempt.
  const response = await request(url, { method: 'POST', headers: { 'content-type': 'application/json', 'user-agent': 'Portcullis-Webhooks', ...headers }, body, signal: AbortSignal.timeout(timeoutMs) });
  await response.body.dump().catch(() => {});
  return response.statusCode;
};

/**
 * Turns audit entries into webhook deliveries and sends them, off the request path: a timer
 * every `pollInterval`, never a request's work. Both halves go through the store, so nothing
 * is lost across restarts and several nodes share the work:
 *
 * 1. **Ingest.** The audit entries after the store's cursor become deliveries (one per event
 *    and subscribed endpoint, `webhook-events.ts`), written with the cursor's move in one
 *    transaction. A node that crashes before that transaction reads the same entries again;
 *    two nodes writing the same delivery write it once. The first start begins at the audit
 *    log's head: history is not replayed.
 * 2. **Expiring keys.** At most once a minute, live keys whose expiry is within
 *    `expiringWithin` and that have no `key.expiring` delivery for that expiry become one
 *    (only when an endpoint subscribes to it); the message id names the key and the expiry, so
 *    nodes that find the same key write one row.
 * 3. **Send.** Due deliveries are claimed (leased for the attempt's timeout, so another node
 *    leaves them alone), signed per Standard Webhooks at the time of the attempt, and sent;
 *    a 2xx answer is delivered, anything else (another status, no answer, a timeout) waits
 *    `retryDelay` × 2^(attempts − 1), at most `maxRetryDelay`, until `maxAttempts`.
 *
 * A receiver may get a message more than once (a node dying after sending, before recording);
 * `webhook-id` is the same on every attempt, so it can drop repeats.
 */
export class WebhookDispatcher {
  readonly #options: WebhookDispatcherOptions;
  readonly #endpoints: ReadonlyMap<string, WebhookEndpoint>;
  readonly #send: WebhookSender;
  readonly #now: () => number;
  #timer: NodeJS.Timeout | null = null;
  #expiringScannedAt = Number.NEGATIVE_INFINITY;
  #round: Promise<void> | null = null;
  #stopped = false;

  constructor(options: WebhookDispatcherOptions) {
    this.#options = options;
    this.#endpoints = new Map(options.endpoints.map((endpoint) => [endpoint.url, endpoint]));
    this.#send = options.send ?? sendWithUndici;
    this.#now = options.now ?? Date.now;
  }

  start(): void {
    this.#schedule(0);
  }

  /** One round: ingest, then send what is due. Rounds never overlap. */
  runOnce(): Promise<void> {
    this.#round ??= this.#ingestAndSend().finally(() => (this.#round = null));
    return this.#round;
  }

  /** Stops the timer and waits for the round in progress (an attempt is bounded by `timeout`). */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    await this.#round;
  }

  #schedule(delay: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      void this.runOnce().finally(() => this.#schedule(this.#options.pollInterval));
    }, delay);
  }

  async #ingestAndSend(): Promise<void> {
    try {
      const cursor = await this.#ingest();
      await this.#queueExpiring(cursor);
      while (!this.#stopped && (await this.#sendDue()) === CLAIMED_PER_ROUND);
    } catch (error) {
      this.#options.onStoreError(error);
    }
  }

  /** Reads the audit entries after the cursor into deliveries; returns the cursor it reached. */
  async #ingest(): Promise<number> {
    const { store } = this.#options;
    let cursor = await store.cursor();
    if (cursor === null) {
      cursor = await store.latestAuditSeq();
      await store.enqueue([], cursor, this.#now());
    }
    const subscribers = [...this.#endpoints.values()];
    for (;;) {
      const entries = await store.auditEntriesAfter(cursor, AUDIT_PAGE);
      if (entries.length === 0) return cursor;
      cursor = (entries.at(-1) as { seq: number }).seq;
      const written = await store.enqueue(entries.flatMap((entry) => deliveriesOf(entry, subscribers)), cursor, this.#now());
      if (written > 0) this.#options.logger.debug({ deliveries: written, cursor }, 'webhook deliveries queued');
      if (entries.length < AUDIT_PAGE) return cursor;
    }
  }

  async #queueExpiring(cursor: number): Promise<void> {
    const now = this.#now();
    if (now - this.#expiringScannedAt < EXPIRING_SCAN_INTERVAL_MS) return;
    const subscribers = [...this.#endpoints.values()].filter((endpoint) => endpoint.events.has('key.expiring'));
    if (subscribers.length === 0) return;
    this.#expiringScannedAt = now;
    for (;;) {
      // Each page leaves out the keys the previous one queued, so the loop ends.
      const keys = await this.#options.store.keysExpiringBetween(now, now + this.#options.expiringWithin, EXPIRING_PAGE);
      const written = await this.#options.store.enqueue(expiringDeliveries(keys, subscribers, cursor, now), cursor, now);
      if (written > 0) this.#options.logger.debug({ deliveries: written }, 'key.expiring deliveries queued');
      if (keys.length < EXPIRING_PAGE) return;
    }
  }

  /** Claims and sends one batch of due deliveries; returns how many it claimed. */
  async #sendDue(): Promise<number> {
    const now = this.#now();
    const claimed = await this.#options.store.claimDue(now, now + this.#options.timeout + LEASE_MARGIN_MS, CLAIMED_PER_ROUND);
    await Promise.all(claimed.map((delivery) => this.#attempt(delivery)));
    return claimed.length;
  }

  async #attempt(delivery: Delivery): Promise<void> {
    const { store, maxAttempts, logger } = this.#options;
    const endpoint = this.#endpoints.get(delivery.endpoint);
    const at = this.#now();
    if (endpoint === undefined) {
      await store.recordAttempt(delivery.messageId, delivery.endpoint, { at, status: 'failed', httpStatus: null, error: 'the endpoint is no longer configured', nextAttemptAt: at });
      return;
    }
    const headers = signedWebhookHeaders(endpoint.key, delivery.messageId, Math.floor(at / 1000), delivery.payload);
    let httpStatus: number | null = null;
    let error: string | null = null;
    try {
      httpStatus = await this.#send(endpoint.url, headers, delivery.payload, this.#options.timeout);
      if (httpStatus < 200 || httpStatus > 299) error = `answered ${httpStatus}`;
    } catch (failure) {
      error = ((failure as Error).message || String(failure)).slice(0, MAX_ERROR_LENGTH);
    }
    const attempts = delivery.attempts + 1;
    const status = error === null ? 'delivered' : attempts >= maxAttempts ? 'failed' : 'pending';
    const nextAttemptAt = status === 'pending' ? this.#now() + this.#retryDelayAfter(attempts) : this.#now();
    await store.recordAttempt(delivery.messageId, delivery.endpoint, { at, status, httpStatus, error, nextAttemptAt });
    if (status === 'failed') logger.error({ messageId: delivery.messageId, endpoint: delivery.endpoint, attempts, error }, 'webhook delivery failed for good');
    else if (status === 'pending') logger.warn({ messageId: delivery.messageId, endpoint: delivery.endpoint, attempts, error }, 'webhook delivery failed; will retry');
  }

  #retryDelayAfter(attempts: number): number {
    return Math.min(this.#options.maxRetryDelay, this.#options.retryDelay * 2 ** (attempts - 1));
  }
}
