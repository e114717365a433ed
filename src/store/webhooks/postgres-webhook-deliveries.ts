import type pg from 'pg';
import { createPool } from '../postgres/postgres-connection.ts';
import { deliveryPageSize, type AttemptOutcome, type AuditedChange, type Delivery, type DeliveryQuery, type ExpiringKey, type NewDelivery, type WebhookDeliveryStore } from './webhook-deliveries.ts';

const DELIVERY_COLUMNS = `message_id AS "messageId", endpoint, event_type AS "eventType", payload, audit_seq AS "auditSeq",
  created_at AS "createdAt", status, attempts, next_attempt_at AS "nextAttemptAt", last_attempt_at AS "lastAttemptAt",
  last_status AS "lastStatus", last_error AS "lastError", delivered_at AS "deliveredAt"`;

const sql = {
  cursor: 'SELECT audit_seq AS seq FROM webhook_cursor WHERE id = 1',
  latestAuditSeq: 'SELECT seq FROM audit_head WHERE id = 1',
  auditAfter: `SELECT seq, at, actor, actor_address AS address, action, target, reason, details
    FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2`,
  insert: `INSERT INTO webhook_deliveries (message_id, endpoint, event_type, payload, audit_seq, created_at, status, next_attempt_at)
    SELECT d.message_id, d.endpoint, d.event_type, d.payload, d.audit_seq, $2, 'pending', $2
    FROM jsonb_to_recordset($1::jsonb) AS d(message_id TEXT, endpoint TEXT, event_type TEXT, payload TEXT, audit_seq BIGINT)
    ON CONFLICT DO NOTHING`,
  moveCursor: `INSERT INTO webhook_cursor (id, audit_seq) VALUES (1, $1)
    ON CONFLICT (id) DO UPDATE SET audit_seq = greatest(webhook_cursor.audit_seq, excluded.audit_seq)`,
  // SKIP LOCKED: two nodes claiming at once take different deliveries instead of waiting.
  claim: `UPDATE webhook_deliveries SET next_attempt_at = $2
    WHERE (message_id, endpoint) IN (SELECT message_id, endpoint FROM webhook_deliveries
      WHERE status = 'pending' AND next_attempt_at <= $1 ORDER BY next_attempt_at, audit_seq LIMIT $3 FOR UPDATE SKIP LOCKED)
    RETURNING ${DELIVERY_COLUMNS}`,
  record: `UPDATE webhook_deliveries SET attempts = attempts + 1, status = $3, last_attempt_at = $4,
      last_status = $5, last_error = $6, next_attempt_at = $7,
      delivered_at = CASE WHEN $3 = 'delivered' THEN $4 ELSE delivered_at END
    WHERE message_id = $1 AND endpoint = $2`,
  redeliver: `UPDATE webhook_deliveries SET status = 'pending', attempts = 0, next_attempt_at = $3
    WHERE message_id = $1 AND ($2::text IS NULL OR endpoint = $2)`,
  // The partial index of migration 13 (api_keys_by_expiry) serves the range; the message id is built as expiringMessageId builds it.
  expiring: `SELECT id, name, expires_at AS "expiresAt" FROM api_keys
    WHERE revoked_at IS NULL AND expires_at IS NOT NULL AND expires_at > $1 AND expires_at <= $2
      AND NOT EXISTS (SELECT 1 FROM webhook_deliveries WHERE message_id = 'msg_expiring_' || id || '_' || expires_at::text)
    ORDER BY expires_at, id LIMIT $3`,
  list: `SELECT ${DELIVERY_COLUMNS} FROM webhook_deliveries
    WHERE ($1::text IS NULL OR status = $1) AND audit_seq < $2
    ORDER BY audit_seq DESC, message_id, endpoint LIMIT $3`,
} as const;

/** Deliveries in a PostgreSQL store, on a small pool of their own. */
export class PostgresWebhookDeliveries implements WebhookDeliveryStore {
  readonly #pool: pg.Pool;

  constructor(url: string, onIdleError: (error: Error) => void = () => {}) {
    this.#pool = createPool(url, onIdleError);
  }

  async cursor(): Promise<number | null> {
    const { rows } = await this.#pool.query<{ seq: number }>(sql.cursor);
    return rows[0]?.seq ?? null;
  }

  async latestAuditSeq(): Promise<number> {
    const { rows } = await this.#pool.query<{ seq: number }>(sql.latestAuditSeq);
    return rows[0]?.seq ?? 0;
  }

  async auditEntriesAfter(seq: number, limit: number): Promise<AuditedChange[]> {
    return (await this.#pool.query<AuditedChange>(sql.auditAfter, [seq, limit])).rows;
  }

  async enqueue(deliveries: readonly NewDelivery[], cursor: number, now: number): Promise<number> {
    const rows = deliveries.map((delivery) => ({ message_id: delivery.messageId, endpoint: delivery.endpoint, event_type: delivery.eventType, payload: delivery.payload, audit_seq: delivery.auditSeq }));
    const client = await this.#pool.connect();
    try {
      await client.query('BEGIN');
      const inserted = rows.length === 0 ? 0 : ((await client.query(sql.insert, [JSON.stringify(rows), Math.floor(now)])).rowCount ?? 0);
      await client.query(sql.moveCursor, [cursor]);
      await client.query('COMMIT');
      return inserted;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw error;
    } finally {
      client.release();
    }
  }

  async claimDue(now: number, leaseUntil: number, limit: number): Promise<Delivery[]> {
    return (await this.#pool.query<Delivery>(sql.claim, [Math.floor(now), Math.floor(leaseUntil), limit])).rows;
  }

  async recordAttempt(messageId: string, endpoint: string, outcome: AttemptOutcome): Promise<void> {
    await this.#pool.query(sql.record, [messageId, endpoint, outcome.status, Math.floor(outcome.at), outcome.httpStatus, outcome.error, Math.floor(outcome.nextAttemptAt)]);
  }

  async redeliver(messageId: string, endpoint: string | null, now: number): Promise<number> {
    return (await this.#pool.query(sql.redeliver, [messageId, endpoint, Math.floor(now)])).rowCount ?? 0;
  }

  async keysExpiringBetween(from: number, to: number, limit: number): Promise<ExpiringKey[]> {
    return (await this.#pool.query<ExpiringKey>(sql.expiring, [Math.floor(from), Math.floor(to), limit])).rows;
  }

  async listDeliveries(query: DeliveryQuery = {}): Promise<Delivery[]> {
    return (await this.#pool.query<Delivery>(sql.list, [query.status ?? null, query.beforeSeq ?? Number.MAX_SAFE_INTEGER, deliveryPageSize(query)])).rows;
  }

  async close(): Promise<void> {
    await this.#pool.end();
  }
}
