import Database from 'better-sqlite3';
import { deliveryPageSize, type AttemptOutcome, type AuditedChange, type Delivery, type DeliveryQuery, type ExpiringKey, type NewDelivery, type WebhookDeliveryStore } from './webhook-deliveries.ts';

const DELIVERY_COLUMNS = `message_id AS messageId, endpoint, event_type AS eventType, payload, audit_seq AS auditSeq,
  created_at AS createdAt, status, attempts, next_attempt_at AS nextAttemptAt, last_attempt_at AS lastAttemptAt,
  last_status AS lastStatus, last_error AS lastError, delivered_at AS deliveredAt`;

const sql = {
  cursor: 'SELECT audit_seq FROM webhook_cursor WHERE id = 1',
  latestAuditSeq: 'SELECT seq FROM audit_head WHERE id = 1',
  auditAfter: `SELECT seq, at, actor, actor_address AS address, action, target, reason, details
    FROM audit_log WHERE seq > ? ORDER BY seq LIMIT ?`,
  insert: `INSERT INTO webhook_deliveries (message_id, endpoint, event_type, payload, audit_seq, created_at, status, next_attempt_at)
    VALUES (@messageId, @endpoint, @eventType, @payload, @auditSeq, @now, 'pending', @now) ON CONFLICT DO NOTHING`,
  moveCursor: `INSERT INTO webhook_cursor (id, audit_seq) VALUES (1, ?)
    ON CONFLICT (id) DO UPDATE SET audit_seq = max(audit_seq, excluded.audit_seq)`,
  claim: `UPDATE webhook_deliveries SET next_attempt_at = @leaseUntil
    WHERE (message_id, endpoint) IN (SELECT message_id, endpoint FROM webhook_deliveries
      WHERE status = 'pending' AND next_attempt_at <= @now ORDER BY next_attempt_at, audit_seq LIMIT @limit)
    RETURNING ${DELIVERY_COLUMNS}`,
  record: `UPDATE webhook_deliveries SET attempts = attempts + 1, status = @status, last_attempt_at = @at,
      last_status = @httpStatus, last_error = @error, next_attempt_at = @nextAttemptAt,
      delivered_at = CASE WHEN @status = 'delivered' THEN @at ELSE delivered_at END
    WHERE message_id = @messageId AND endpoint = @endpoint`,
  redeliver: `UPDATE webhook_deliveries SET status = 'pending', attempts = 0, next_attempt_at = @now
    WHERE message_id = @messageId AND (@endpoint IS NULL OR endpoint = @endpoint)`,
  // The partial index of migration 13 (api_keys_by_expiry) serves the range; the message id is built as expiringMessageId builds it.
  expiring: `SELECT id, name, expires_at AS expiresAt FROM api_keys
    WHERE revoked_at IS NULL AND expires_at IS NOT NULL AND expires_at > @from AND expires_at <= @to
      AND NOT EXISTS (SELECT 1 FROM webhook_deliveries WHERE message_id = 'msg_expiring_' || id || '_' || expires_at)
    ORDER BY expires_at, id LIMIT @limit`,
  list: `SELECT ${DELIVERY_COLUMNS} FROM webhook_deliveries
    WHERE (@status IS NULL OR status = @status) AND audit_seq < @beforeSeq
    ORDER BY audit_seq DESC, message_id, endpoint LIMIT @limit`,
} as const;

/**
 * Deliveries in a SQLite store, on a connection of their own (WAL lets it sit beside the key
 * store's). A batch of deliveries and the cursor move in one IMMEDIATE transaction.
 */
export class SqliteWebhookDeliveries implements WebhookDeliveryStore {
  readonly #db: Database.Database;
  readonly #statements;
  readonly #enqueue;

  constructor(path: string) {
    this.#db = new Database(path, { fileMustExist: true });
    this.#db.pragma('busy_timeout = 5000');
    this.#db.pragma('journal_mode = WAL');
    this.#statements = Object.fromEntries(Object.entries(sql).map(([name, text]) => [name, this.#db.prepare(text)])) as Record<keyof typeof sql, Database.Statement>;
    this.#enqueue = this.#db.transaction((deliveries: readonly NewDelivery[], cursor: number, now: number) => {
      let written = 0;
      for (const delivery of deliveries) written += this.#statements.insert.run({ ...delivery, now }).changes;
      this.#statements.moveCursor.run(cursor);
      return written;
    });
  }

  async cursor(): Promise<number | null> {
    return (this.#statements.cursor.pluck().get() as number | undefined) ?? null;
  }

  async latestAuditSeq(): Promise<number> {
    return (this.#statements.latestAuditSeq.pluck().get() as number | undefined) ?? 0;
  }

  async auditEntriesAfter(seq: number, limit: number): Promise<AuditedChange[]> {
    return this.#statements.auditAfter.all(seq, limit) as AuditedChange[];
  }

  async enqueue(deliveries: readonly NewDelivery[], cursor: number, now: number): Promise<number> {
    return this.#enqueue.immediate(deliveries, cursor, Math.floor(now));
  }

  async claimDue(now: number, leaseUntil: number, limit: number): Promise<Delivery[]> {
    return this.#statements.claim.all({ now: Math.floor(now), leaseUntil: Math.floor(leaseUntil), limit }) as Delivery[];
  }

  async recordAttempt(messageId: string, endpoint: string, outcome: AttemptOutcome): Promise<void> {
    this.#statements.record.run({ messageId, endpoint, ...outcome, at: Math.floor(outcome.at), nextAttemptAt: Math.floor(outcome.nextAttemptAt) });
  }

  async redeliver(messageId: string, endpoint: string | null, now: number): Promise<number> {
    return this.#statements.redeliver.run({ messageId, endpoint, now: Math.floor(now) }).changes;
  }

  async keysExpiringBetween(from: number, to: number, limit: number): Promise<ExpiringKey[]> {
    return this.#statements.expiring.all({ from: Math.floor(from), to: Math.floor(to), limit }) as ExpiringKey[];
  }

  async listDeliveries(query: DeliveryQuery = {}): Promise<Delivery[]> {
    return this.#statements.list.all({ status: query.status ?? null, beforeSeq: query.beforeSeq ?? Number.MAX_SAFE_INTEGER, limit: deliveryPageSize(query) }) as Delivery[];
  }

  async close(): Promise<void> {
    this.#db.close();
  }
}
