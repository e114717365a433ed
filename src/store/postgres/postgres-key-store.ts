import type pg from 'pg';
import type { KeyRecord, KeySettings } from '../../keys/key-record.ts';
import type {
  ChangeSubscription,
  KeyEvent,
  KeyFilter,
  KeyStore,
  KeyUsage,
  NewKey,
  RotateResult,
} from '../key-store.ts';
import { checkEventLimit, listLimit, refuseRotation, replacementSettings, rotatedExpiry } from '../key-store-rules.ts';
import { describeStoreLocation } from '../store-location.ts';
import { createPool } from './postgres-connection.ts';
import { inEventTransaction } from './postgres-event-log.ts';
import { applyPostgresMigrations } from './postgres-migrations.ts';
import { postgresKeyStoreSql as sql } from './postgres-key-sql.ts';
import { PostgresChangeListener } from './postgres-change-listener.ts';

type Queryable = pg.Pool | pg.PoolClient;

/**
 * Reads reuse a server-side prepared statement per connection (named queries), so a key
 * lookup costs one round trip without re-planning.
 */
async function query<R extends pg.QueryResultRow>(db: Queryable, name: keyof typeof sql, values: unknown[]): Promise<R[]> {
  const result = await db.query<R>({ name: `portcullis_${name}`, text: sql[name], values });
  return result.rows;
}

async function one<R extends pg.QueryResultRow>(db: Queryable, name: keyof typeof sql, values: unknown[]): Promise<R | null> {
  return (await query<R>(db, name, values))[0] ?? null;
}

/** The parameters of `insertKey`, JSON columns as JSON text (pg would send arrays as SQL arrays). */
function insertParameters(key: NewKey, now: number): unknown[] {
  return [
    key.id, key.name, key.digest, key.displayPrefix, JSON.stringify(key.tags), JSON.stringify(key.scopes),
    JSON.stringify(key.allowedCidrs), key.certFingerprint, key.rateLimit, JSON.stringify(key.metadata), now, key.expiresAt,
  ];
}

export interface PostgresKeyStoreOptions {
  /** Errors on idle pooled connections and on the notification connection (logged by the gateway). */
  onConnectionError?: (error: Error) => void;
}

/**
 * The `KeyStore` for several gateway nodes: PostgreSQL through a `pg` pool. The schema comes
 * from the connection's `search_path` (default `public`), so one database can hold several
 * deployments, or a test run, each in its own schema.
 *
 * Mutations take the change log's advisory lock (see postgres-event-log.ts), so followers
 * never skip an event; `subscribeToChanges` wakes followers on commit via LISTEN/NOTIFY.
 */
export class PostgresKeyStore implements KeyStore {
  readonly #pool: pg.Pool;
  readonly #url: string;
  readonly #onConnectionError: (error: Error) => void;
  readonly #listeners = new Set<PostgresChangeListener>();

  constructor(url: string, options: PostgresKeyStoreOptions = {}) {
    this.#url = url;
    this.#onConnectionError = options.onConnectionError ?? (() => {});
    this.#pool = createPool(url, (error) => this.#onConnectionError(error));
  }

  async migrate(): Promise<void> {
    await applyPostgresMigrations(this.#pool);
  }

  async createKey(key: NewKey, now: number): Promise<KeyRecord> {
    return inEventTransaction(this.#pool, (client) => this.#insertKey(client, key, now));
  }

  async getKeyById(id: string): Promise<KeyRecord | null> {
    return one<KeyRecord>(this.#pool, 'keyById', [id]);
  }

  async getKeyByDigest(digest: string): Promise<KeyRecord | null> {
    return one<KeyRecord>(this.#pool, 'keyByDigest', [digest]);
  }

  async listKeys(filter: KeyFilter = {}): Promise<KeyRecord[]> {
    const limit = listLimit(filter.limit);
    const { tag, after } = filter;
    if (tag === undefined) return after === undefined ? query(this.#pool, 'listAll', [limit]) : query(this.#pool, 'listAfter', [after, limit]);
    return after === undefined ? query(this.#pool, 'listByTag', [tag, limit]) : query(this.#pool, 'listByTagAfter', [tag, after, limit]);
  }

  async revokeKey(id: string, reason: string | null, now: number): Promise<KeyRecord | null> {
    return inEventTransaction(this.#pool, async (client) => {
      const revoked = await one<KeyRecord>(client, 'revoke', [id, reason, now]);
      // Unknown, or already revoked: the first revocation's time and reason stand.
      return revoked ?? one<KeyRecord>(client, 'keyById', [id]);
    });
  }

  async revokeKeysByTag(tag: string, reason: string | null, now: number): Promise<KeyRecord[]> {
    return inEventTransaction(this.#pool, (client) => query<KeyRecord>(client, 'revokeByTag', [tag, reason, now]));
  }

  async rotateKey(
    oldId: string,
    replacement: Omit<NewKey, keyof KeySettings>,
    graceEndsAt: number,
    now: number,
  ): Promise<RotateResult | null> {
    return inEventTransaction(this.#pool, async (client): Promise<RotateResult | null> => {
      const old = await one<KeyRecord>(client, 'keyById', [oldId]);
      if (old === null) return null;
      refuseRotation(old, now);
      const newKey = await this.#insertKey(client, { ...replacementSettings(old), ...replacement }, now);
      // After the new key's `created` event, so a follower that reads `rotatedTo` has
      // already been told about the key it names.
      const oldKey = await one<KeyRecord>(client, 'markRotated', [oldId, rotatedExpiry(old, graceEndsAt), newKey.id, now]);
      if (oldKey === null) throw new Error(`Key ${oldId} vanished during rotation`);
      return { oldKey, newKey };
    });
  }

  async eventsSince(afterSeq: number, limit: number): Promise<KeyEvent[]> {
    checkEventLimit(limit);
    return query<KeyEvent>(this.#pool, 'eventsSince', [afterSeq, limit]);
  }

  async latestEventSeq(): Promise<number> {
    return (await one<{ seq: number }>(this.#pool, 'latestEventSeq', []))?.seq ?? 0;
  }

  async recordUsage(batch: KeyUsage[]): Promise<void> {
    if (batch.length === 0) return;
    await this.#pool.query({
      name: 'portcullis_recordUsage',
      text: sql.recordUsage,
      values: [batch.map((usage) => usage.keyId), batch.map((usage) => usage.lastUsedAt), batch.map((usage) => usage.lastUsedAddress)],
    });
  }

  async subscribeToChanges(onChange: () => void): Promise<ChangeSubscription> {
    const listener = new PostgresChangeListener(this.#url, onChange, (error) => this.#onConnectionError(error));
    this.#listeners.add(listener);
    await listener.start();
    return {
      get listening() {
        return listener.listening;
      },
      close: async () => {
        this.#listeners.delete(listener);
        await listener.stop();
      },
    };
  }

  async close(): Promise<void> {
    await Promise.all([...this.#listeners].map((listener) => listener.stop()));
    this.#listeners.clear();
    if (!this.#pool.ended) await this.#pool.end();
  }

  /** Inserts the key, its tags and its `created` event; the caller holds the transaction. */
  async #insertKey(client: pg.PoolClient, key: NewKey, now: number): Promise<KeyRecord> {
    const record = await one<KeyRecord>(client, 'insertKey', insertParameters(key, now));
    if (record === null) throw new Error(`Key ${key.id} was not inserted`);
    return record;
  }
}

/**
 * Opens the PostgreSQL key store at `url` and applies pending migrations.
 *
 * @example
 * const store = await openPostgresKeyStore('postgres://portcullis@db.internal:5432/portcullis');
 * const key = await store.getKeyByDigest(digest);
 * await store.close();
 */
export async function openPostgresKeyStore(url: string, options: PostgresKeyStoreOptions = {}): Promise<PostgresKeyStore> {
  const store = new PostgresKeyStore(url, options);
  try {
    await store.migrate();
    return store;
  } catch (error) {
    await store.close();
    const code = (error as { code?: unknown }).code;
    if (error instanceof Error && typeof code === 'string' && code.startsWith('E')) {
      // A socket error (ECONNREFUSED, ENOTFOUND…) says nothing of which store it was.
      throw new Error(`Cannot reach the PostgreSQL key store at ${describeStoreLocation(url)}: ${error.message}`, { cause: error });
    }
    throw error;
  }
}
