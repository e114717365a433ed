/**
 * Versioned schema migrations, shared by every `KeyStore` implementation.
 *
 * Each migration carries the same change in two dialects, so a SQLite and a
 * PostgreSQL database at the same version hold the same tables with the same
 * meaning. Conventions, in both dialects:
 * - times are BIGINT milliseconds since the Unix epoch (they exceed 32 bits);
 * - ids are TEXT; JSON is TEXT (checked with `json_valid`) in SQLite, JSONB in PostgreSQL;
 * - the change log's `seq` is the table's auto-incrementing primary key, never reused.
 *
 * Migrations are append-only: once released, a migration's SQL never changes;
 * a later change is a new entry with the next version.
 */
export interface Migration {
  /** Strictly increasing, starting at 1, without gaps. */
  version: number;
  name: string;
  sqlite: string;
  postgres: string;
}

/**
 * The ledger of applied migrations. A runner creates it before anything else,
 * since it must read the ledger to know which migrations are pending; that is
 * why it is not itself a numbered migration.
 */
export const schemaMigrationsTable = {
  sqlite: `
    CREATE TABLE IF NOT EXISTS schema_migrations (
      version    INTEGER PRIMARY KEY,
      name       TEXT    NOT NULL,
      applied_at BIGINT  NOT NULL
    );`,
  postgres: `
    CREATE TABLE IF NOT EXISTS schema_migrations (
      version    INTEGER PRIMARY KEY,
      name       TEXT    NOT NULL,
      applied_at BIGINT  NOT NULL
    );`,
} as const;

export const migrations: readonly Migration[] = [
  {
    version: 1,
    name: 'create_api_keys_and_key_events',
    // `tags` is kept on the key row (the record's own, ordered list) and in
    // `key_tags`, one row per tag, so that list-by-tag and revoke-by-tag are an
    // index range scan on (tag, key_id) instead of a scan of every key's JSON.
    // `key_events_by_key` serves one key's history (audit, dashboard) and keeps
    // the foreign-key checks on `key_events.key_id` from scanning the log.
    sqlite: `
      CREATE TABLE api_keys (
        id                TEXT    PRIMARY KEY,
        name              TEXT    NOT NULL,
        digest            TEXT    NOT NULL UNIQUE,
        display_prefix    TEXT    NOT NULL,
        tags              TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(tags)),
        scopes            TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(scopes)),
        allowed_cidrs     TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(allowed_cidrs)),
        cert_fingerprint  TEXT,
        rate_limit        TEXT,
        metadata          TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(metadata)),
        created_at        BIGINT  NOT NULL,
        updated_at        BIGINT  NOT NULL,
        expires_at        BIGINT,
        revoked_at        BIGINT,
        revoked_reason    TEXT,
        rotated_to        TEXT    REFERENCES api_keys (id),
        last_used_at      BIGINT,
        last_used_address TEXT
      );

      CREATE TABLE key_tags (
        key_id TEXT NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
        tag    TEXT NOT NULL,
        PRIMARY KEY (key_id, tag)
      ) WITHOUT ROWID;
      CREATE INDEX key_tags_by_tag ON key_tags (tag, key_id);

      CREATE TABLE key_events (
        seq    INTEGER PRIMARY KEY AUTOINCREMENT,
        key_id TEXT    NOT NULL REFERENCES api_keys (id),
        kind   TEXT    NOT NULL CHECK (kind IN ('created', 'revoked', 'rotated', 'updated')),
        at     BIGINT  NOT NULL
      );
      CREATE INDEX key_events_by_key ON key_events (key_id, seq);`,
    // Ids use the "C" collation so that ORDER BY id (and paging with id > $after)
    // sorts by bytes, exactly as SQLite does; a locale collation would order
    // differently and page differently on each server.
    postgres: `
      CREATE TABLE api_keys (
        id                TEXT COLLATE "C" PRIMARY KEY,
        name              TEXT    NOT NULL,
        digest            TEXT    NOT NULL UNIQUE,
        display_prefix    TEXT    NOT NULL,
        tags              JSONB   NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(tags) = 'array'),
        scopes            JSONB   NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(scopes) = 'array'),
        allowed_cidrs     JSONB   NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(allowed_cidrs) = 'array'),
        cert_fingerprint  TEXT,
        rate_limit        TEXT,
        metadata          JSONB   NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(metadata) = 'object'),
        created_at        BIGINT  NOT NULL,
        updated_at        BIGINT  NOT NULL,
        expires_at        BIGINT,
        revoked_at        BIGINT,
        revoked_reason    TEXT,
        rotated_to        TEXT COLLATE "C" REFERENCES api_keys (id),
        last_used_at      BIGINT,
        last_used_address TEXT
      );

      CREATE TABLE key_tags (
        key_id TEXT COLLATE "C" NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
        tag    TEXT NOT NULL,
        PRIMARY KEY (key_id, tag)
      );
      CREATE INDEX key_tags_by_tag ON key_tags (tag, key_id);

      CREATE TABLE key_events (
        seq    BIGSERIAL PRIMARY KEY,
        key_id TEXT COLLATE "C" NOT NULL REFERENCES api_keys (id),
        kind   TEXT   NOT NULL CHECK (kind IN ('created', 'revoked', 'rotated', 'updated')),
        at     BIGINT NOT NULL
      );
      CREATE INDEX key_events_by_key ON key_events (key_id, seq);`,
  },
  {
    version: 2,
    name: 'add_key_quota_and_quota_usage',
    // `quota` is the key's own quota policy (`10000/day`), null for the gateway's default.
    // `key_quota_usage` holds one counter per key, for the latest period it has requests in
    // (`period_start`, ms); gateway nodes add to it in batches, never a write per request.
    sqlite: `
      ALTER TABLE api_keys ADD COLUMN quota TEXT;

      CREATE TABLE key_quota_usage (
        key_id       TEXT   PRIMARY KEY REFERENCES api_keys (id) ON DELETE CASCADE,
        period_start BIGINT NOT NULL,
        used         BIGINT NOT NULL CHECK (used >= 0)
      ) WITHOUT ROWID;`,
    postgres: `
      ALTER TABLE api_keys ADD COLUMN quota TEXT;

      CREATE TABLE key_quota_usage (
        key_id       TEXT COLLATE "C" PRIMARY KEY REFERENCES api_keys (id) ON DELETE CASCADE,
        period_start BIGINT NOT NULL,
        used         BIGINT NOT NULL CHECK (used >= 0)
      );`,
  },
];

/** The schema version this code writes and understands. */
export const latestSchemaVersion: number = migrations.at(-1)?.version ?? 0;
