/**
 * Outgoing webhook deliveries, as the store keeps them (migration 8): one row per event and
 * endpoint, written before it is first sent and updated after every attempt, so a restart or
 * a crash loses none. Every store dialect implements the one interface; the shared suite is
 * `webhook-delivery-store.test.ts`.
 */

export type DeliveryStatus = 'pending' | 'delivered' | 'failed';

/** A delivery to write: the message (its id and exact body) for one endpoint. */
export interface NewDelivery {
  messageId: string;
  endpoint: string;
  eventType: string;
  /** The exact bytes sent and signed (JSON text). */
  payload: string;
  /** The audit entry the event comes from. */
  auditSeq: number;
}

export interface Delivery extends NewDelivery {
  createdAt: number;
  status: DeliveryStatus;
  /** Attempts made so far. */
  attempts: number;
  /** When a pending delivery is next due (also the lease of the node sending it). */
  nextAttemptAt: number;
  lastAttemptAt: number | null;
  /** The HTTP status of the last attempt; null when it got no answer. */
  lastStatus: number | null;
  /** Why the last attempt failed (a network error, a timeout, a status); null when it succeeded. */
  lastError: string | null;
  deliveredAt: number | null;
}

/** What one attempt came to. */
export interface AttemptOutcome {
  at: number;
  status: DeliveryStatus;
  httpStatus: number | null;
  error: string | null;
  /** When a delivery left pending is due again. */
  nextAttemptAt: number;
}

/** The audit entry fields an event is made of. */
export interface AuditedChange {
  seq: number;
  at: number;
  actor: string;
  address: string | null;
  action: string;
  target: string;
  reason: string | null;
  details: string;
}

/** A live key whose expiry falls in a window, with no `key.expiring` delivery yet for that expiry. */
export interface ExpiringKey {
  id: string;
  name: string;
  expiresAt: number;
}

/** The message id of a key's `key.expiring` event: one per key and expiry, so a new expiry is a new event. */
export function expiringMessageId(keyId: string, expiresAt: number): string {
  return `msg_expiring_${keyId}_${expiresAt}`;
}

export interface DeliveryQuery {
  status?: DeliveryStatus;
  /** Deliveries of audit entries older than this seq (newest first paging). */
  beforeSeq?: number;
  /** Capped at 500 (default 100). */
  limit?: number;
}

export interface WebhookDeliveryStore {
  /** The last audit entry turned into deliveries; null before the first time. */
  cursor(): Promise<number | null>;
  /** The newest audit entry's seq (0 for an empty log). */
  latestAuditSeq(): Promise<number>;
  /** Audit entries after `seq`, oldest first, at most `limit`. */
  auditEntriesAfter(seq: number, limit: number): Promise<AuditedChange[]>;
  /**
   * Writes the deliveries (a delivery already written, by this node or another, is left as it
   * is) and moves the cursor forward to `cursor` (never back), in one transaction. Returns the
   * number of deliveries written.
   */
  enqueue(deliveries: readonly NewDelivery[], cursor: number, now: number): Promise<number>;
  /**
   * Pending deliveries due at `now`, oldest due first, at most `limit`; each is leased until
   * `leaseUntil` (its next attempt time moves there), so no other node claims it meanwhile.
   */
  claimDue(now: number, leaseUntil: number, limit: number): Promise<Delivery[]>;
  /** Records an attempt: `attempts` + 1 and the outcome. */
  recordAttempt(messageId: string, endpoint: string, outcome: AttemptOutcome): Promise<void>;
  /**
   * Sends a message again: its deliveries (to `endpoint`, or to every endpoint when null) become
   * pending and due at `now`, with a fresh count of attempts, whatever their status. Returns how
   * many there were (0 for an unknown message).
   */
  redeliver(messageId: string, endpoint: string | null, now: number): Promise<number>;
  /**
   * Keys neither revoked nor expired whose expiry is after `from` and at or before `to`, soonest
   * first, at most `limit`, leaving out those that already have a delivery with the message id
   * `expiringMessageId(id, expiresAt)` (to any endpoint).
   */
  keysExpiringBetween(from: number, to: number, limit: number): Promise<ExpiringKey[]>;
  /** The delivery log, newest audit entry first. */
  listDeliveries(query?: DeliveryQuery): Promise<Delivery[]>;
  close(): Promise<void>;
}

const MAX_DELIVERY_PAGE = 500;

/** The page size a query asks for, within 1–500 (default 100). */
export function deliveryPageSize(query: DeliveryQuery): number {
  return Math.min(Math.max(Math.trunc(query.limit ?? 100), 1), MAX_DELIVERY_PAGE);
}
