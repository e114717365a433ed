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
  /**
   * Strictly increasing, starting at 1. Versions are reserved per branch while several are
   * developed in parallel, so a branch may have a gap until the others are merged; runners
   * apply every migration the ledger lacks, not only those above the highest applied.
   */
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
  {
    version: 3,
    name: 'create_audit_log_admin_tokens_and_usage',
    // audit_log: `seq` is assigned by the writer as head.seq + 1 (not auto-incremented) so it
    // is gapless in both dialects (a PostgreSQL sequence skips numbers on rollback), and a
    // deleted entry shows as a gap. `details` is TEXT in both dialects, not JSONB: the hash
    // covers its exact bytes, which JSONB would reformat. audit_head holds the newest seq and
    // hash; writers lock it (the IMMEDIATE transaction in SQLite, SELECT … FOR UPDATE in
    // PostgreSQL) so appends are serialised and the chain never forks. Triggers make the log
    // append-only for ordinary statements; the hash chain catches whoever drops them.
    //
    // Usage tables hold per-key, per-minute counts merged from every node's batches with
    // INSERT … ON CONFLICT … DO UPDATE (both dialects). They have no foreign key to api_keys:
    // they are analytics, purged by age, and a failed batch must not block the next.
    sqlite: `
      CREATE TABLE audit_log (
        seq           INTEGER PRIMARY KEY,
        at            BIGINT  NOT NULL,
        actor         TEXT    NOT NULL,
        actor_address TEXT,
        action        TEXT    NOT NULL,
        target        TEXT    NOT NULL,
        reason        TEXT,
        details       TEXT    NOT NULL,
        prev_hash     TEXT    NOT NULL,
        hash          TEXT    NOT NULL
      );
      CREATE INDEX audit_log_by_target ON audit_log (target, seq);
      CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
      CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;

      CREATE TABLE audit_head (
        id   INTEGER PRIMARY KEY CHECK (id = 1),
        seq  BIGINT  NOT NULL,
        hash TEXT    NOT NULL
      );
      INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '${'0'.repeat(64)}');

      CREATE TABLE admin_tokens (
        id             TEXT    PRIMARY KEY,
        name           TEXT    NOT NULL,
        role           TEXT    NOT NULL CHECK (role IN ('read', 'write')),
        digest         TEXT    NOT NULL UNIQUE,
        display_prefix TEXT    NOT NULL,
        created_at     BIGINT  NOT NULL,
        revoked_at     BIGINT
      );

      CREATE TABLE usage_minutes (
        key_id    TEXT   NOT NULL,
        minute    BIGINT NOT NULL,
        requests  BIGINT NOT NULL,
        bytes_in  BIGINT NOT NULL,
        bytes_out BIGINT NOT NULL,
        PRIMARY KEY (key_id, minute)
      ) WITHOUT ROWID;
      CREATE INDEX usage_minutes_by_minute ON usage_minutes (minute, key_id);
      CREATE TABLE usage_denials (
        key_id TEXT   NOT NULL,
        minute BIGINT NOT NULL,
        code   TEXT   NOT NULL,
        count  BIGINT NOT NULL,
        PRIMARY KEY (key_id, minute, code)
      ) WITHOUT ROWID;
      CREATE INDEX usage_denials_by_minute ON usage_denials (minute);
      CREATE TABLE usage_addresses (
        key_id  TEXT   NOT NULL,
        minute  BIGINT NOT NULL,
        address TEXT   NOT NULL,
        PRIMARY KEY (key_id, minute, address)
      ) WITHOUT ROWID;
      CREATE INDEX usage_addresses_by_minute ON usage_addresses (minute);`,
    postgres: `
      CREATE TABLE audit_log (
        seq           BIGINT PRIMARY KEY,
        at            BIGINT NOT NULL,
        actor         TEXT   NOT NULL,
        actor_address TEXT,
        action        TEXT   NOT NULL,
        target        TEXT COLLATE "C" NOT NULL,
        reason        TEXT,
        details       TEXT   NOT NULL,
        prev_hash     TEXT   NOT NULL,
        hash          TEXT   NOT NULL
      );
      CREATE INDEX audit_log_by_target ON audit_log (target, seq);
      CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$;
      CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
        FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
      CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
        FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
      CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
        FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

      CREATE TABLE audit_head (
        id   INTEGER PRIMARY KEY CHECK (id = 1),
        seq  BIGINT  NOT NULL,
        hash TEXT    NOT NULL
      );
      INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '${'0'.repeat(64)}');

      CREATE TABLE admin_tokens (
        id             TEXT COLLATE "C" PRIMARY KEY,
        name           TEXT   NOT NULL,
        role           TEXT   NOT NULL CHECK (role IN ('read', 'write')),
        digest         TEXT   NOT NULL UNIQUE,
        display_prefix TEXT   NOT NULL,
        created_at     BIGINT NOT NULL,
        revoked_at     BIGINT
      );

      CREATE TABLE usage_minutes (
        key_id    TEXT COLLATE "C" NOT NULL,
        minute    BIGINT NOT NULL,
        requests  BIGINT NOT NULL,
        bytes_in  BIGINT NOT NULL,
        bytes_out BIGINT NOT NULL,
        PRIMARY KEY (key_id, minute)
      );
      CREATE INDEX usage_minutes_by_minute ON usage_minutes (minute, key_id);
      CREATE TABLE usage_denials (
        key_id TEXT COLLATE "C" NOT NULL,
        minute BIGINT NOT NULL,
        code   TEXT   NOT NULL,
        count  BIGINT NOT NULL,
        PRIMARY KEY (key_id, minute, code)
      );
      CREATE INDEX usage_denials_by_minute ON usage_denials (minute);
      CREATE TABLE usage_addresses (
        key_id  TEXT COLLATE "C" NOT NULL,
        minute  BIGINT NOT NULL,
        address TEXT   NOT NULL,
        PRIMARY KEY (key_id, minute, address)
      );
      CREATE INDEX usage_addresses_by_minute ON usage_addresses (minute);`,
  },
  {
    version: 4,
    name: 'add_key_quarantine',
    // A quarantined key is refused (403 key_quarantined) until released or revoked: the
    // state a suspected leak puts a key in. Releasing sets both columns back to null; the
    // audit log keeps the history. The change log gains the two kinds, so a follower (and a
    // person reading the log) can tell them from a settings edit.
    //
    // SQLite cannot change a CHECK constraint in place, so `key_events` is rebuilt: copied
    // whole (same seq values, and the AUTOINCREMENT counter carried over, so no seq is ever
    // reused), then swapped in. Nothing references `key_events`, so the foreign keys hold.
    sqlite: `
      ALTER TABLE api_keys ADD COLUMN quarantined_at BIGINT;
      ALTER TABLE api_keys ADD COLUMN quarantined_reason TEXT;

      CREATE TABLE key_events_rebuilt (
        seq    INTEGER PRIMARY KEY AUTOINCREMENT,
        key_id TEXT    NOT NULL REFERENCES api_keys (id),
        kind   TEXT    NOT NULL CHECK (kind IN ('created', 'revoked', 'rotated', 'updated', 'quarantined', 'released')),
        at     BIGINT  NOT NULL
      );
      INSERT INTO key_events_rebuilt (seq, key_id, kind, at) SELECT seq, key_id, kind, at FROM key_events ORDER BY seq;
      INSERT INTO sqlite_sequence (name, seq) SELECT 'key_events_rebuilt', seq FROM sqlite_sequence
        WHERE name = 'key_events' AND NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'key_events_rebuilt');
      UPDATE sqlite_sequence SET seq = max(seq, (SELECT coalesce(max(seq), 0) FROM sqlite_sequence WHERE name = 'key_events'))
        WHERE name = 'key_events_rebuilt';
      DROP TABLE key_events;
      ALTER TABLE key_events_rebuilt RENAME TO key_events;
      CREATE INDEX key_events_by_key ON key_events (key_id, seq);`,
    postgres: `
      ALTER TABLE api_keys ADD COLUMN quarantined_at BIGINT;
      ALTER TABLE api_keys ADD COLUMN quarantined_reason TEXT;

      ALTER TABLE key_events DROP CONSTRAINT key_events_kind_check;
      ALTER TABLE key_events ADD CONSTRAINT key_events_kind_check
        CHECK (kind IN ('created', 'revoked', 'rotated', 'updated', 'quarantined', 'released'));`,
  },
  {
    version: 5,
    name: 'create_token_signing_keys',
    // The key pairs delegated browser tokens are signed with (src/store/token-signing-key-store.ts).
    // `signing` is 1 on the one current key and NULL on retired ones (a number in both
    // dialects, so `store migrate` copies it as it is): its UNIQUE
    // constraint lets at most one key sign, so two nodes that make the first key at once
    // cannot both succeed (the loser's INSERT … ON CONFLICT does nothing).
    sqlite: `
      CREATE TABLE token_signing_keys (
        kid            TEXT    PRIMARY KEY,
        algorithm      TEXT    NOT NULL CHECK (algorithm = 'ES256'),
        public_jwk     TEXT    NOT NULL CHECK (json_valid(public_jwk)),
        private_jwk    TEXT    NOT NULL CHECK (json_valid(private_jwk)),
        signing        INTEGER UNIQUE CHECK (signing = 1),
        created_at     BIGINT  NOT NULL,
        retired_at     BIGINT,
        verifies_until BIGINT,
        CHECK ((signing IS NULL) = (retired_at IS NOT NULL))
      );`,
    postgres: `
      CREATE TABLE token_signing_keys (
        kid            TEXT COLLATE "C" PRIMARY KEY,
        algorithm      TEXT    NOT NULL CHECK (algorithm = 'ES256'),
        public_jwk     JSONB   NOT NULL,
        private_jwk    JSONB   NOT NULL,
        signing        SMALLINT UNIQUE CHECK (signing = 1),
        created_at     BIGINT  NOT NULL,
        retired_at     BIGINT,
        verifies_until BIGINT,
        CHECK ((signing IS NULL) = (retired_at IS NOT NULL))
      );`,
  },
  {
    version: 6,
    name: 'add_key_signing_key',
    // The public key (SPKI PEM) a key is bound to for signed requests (RFC 9421); null for an
    // unbound key. Read only with the rest of the row, so it needs no index.
    sqlite: `
      ALTER TABLE api_keys ADD COLUMN signing_key TEXT;`,
    postgres: `
      ALTER TABLE api_keys ADD COLUMN signing_key TEXT;`,
  },
  {
    version: 7,
    name: 'create_node_heartbeats_and_usage_count_indexes',
    // node_heartbeats: one row per gateway node, rewritten every health.heartbeatInterval by the
    // node's store write thread (src/store/node-heartbeats.ts), read by every admin API to list
    // the nodes sharing the store. `health` is the node's health parts as a JSON object.
    // Belongs to the running nodes, not to the data: `store migrate` does not copy it.
    //
    // usage_minutes_counts / usage_denials_counts replace the minute indexes with covering ones:
    // on SQLite, summing every key's minutes of a window (the overview's steps, one step's
    // totals) reads the index alone, in minute order, so GROUP BY minute needs no sort and no
    // row lookups; PostgreSQL may scan them index-only (INCLUDE) where the visibility map
    // allows. The old indexes are their prefixes, so nothing that used them loses.
    sqlite: `
      CREATE TABLE node_heartbeats (
        node_id     TEXT    PRIMARY KEY,
        host_name   TEXT    NOT NULL,
        pid         INTEGER NOT NULL,
        version     TEXT    NOT NULL,
        started_at  BIGINT  NOT NULL,
        last_seen   BIGINT  NOT NULL,
        interval_ms BIGINT  NOT NULL CHECK (interval_ms > 0),
        health      TEXT    NOT NULL CHECK (json_valid(health) AND json_type(health) = 'object')
      ) WITHOUT ROWID;

      CREATE INDEX usage_minutes_counts ON usage_minutes (minute, key_id, requests, bytes_in, bytes_out);
      DROP INDEX usage_minutes_by_minute;
      CREATE INDEX usage_denials_counts ON usage_denials (minute, code, count);
      DROP INDEX usage_denials_by_minute;`,
    postgres: `
      CREATE TABLE node_heartbeats (
        node_id     TEXT COLLATE "C" PRIMARY KEY,
        host_name   TEXT    NOT NULL,
        pid         INTEGER NOT NULL,
        version     TEXT    NOT NULL,
        started_at  BIGINT  NOT NULL,
        last_seen   BIGINT  NOT NULL,
        interval_ms BIGINT  NOT NULL CHECK (interval_ms > 0),
        health      JSONB   NOT NULL CHECK (jsonb_typeof(health) = 'object')
      );

      CREATE INDEX usage_minutes_counts ON usage_minutes (minute, key_id) INCLUDE (requests, bytes_in, bytes_out);
      DROP INDEX usage_minutes_by_minute;
      CREATE INDEX usage_denials_counts ON usage_denials (minute, code) INCLUDE (count);
      DROP INDEX usage_denials_by_minute;`,
  },
  {
    version: 8,
    name: 'create_webhook_deliveries',
    // Outgoing webhooks (src/webhooks). Every delivery of an event to an endpoint is one row,
    // written before it is sent and updated after each attempt, so a restart loses none;
    // (message_id, endpoint) is its identity, so two nodes turning the same audit entry into
    // deliveries insert it once (INSERT … ON CONFLICT DO NOTHING). `next_attempt_at` is also
    // the lease of the node sending it: claiming a delivery moves it past the attempt's
    // timeout, so no other node sends it meanwhile, and a node that dies mid-attempt only
    // delays it. webhook_cursor holds the last audit entry turned into deliveries.
    sqlite: `
      CREATE TABLE webhook_deliveries (
        message_id      TEXT    NOT NULL,
        endpoint        TEXT    NOT NULL,
        event_type      TEXT    NOT NULL,
        payload         TEXT    NOT NULL,
        audit_seq       BIGINT  NOT NULL,
        created_at      BIGINT  NOT NULL,
        status          TEXT    NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
        attempts        INTEGER NOT NULL DEFAULT 0,
        next_attempt_at BIGINT  NOT NULL,
        last_attempt_at BIGINT,
        last_status     INTEGER,
        last_error      TEXT,
        delivered_at    BIGINT,
        PRIMARY KEY (message_id, endpoint)
      ) WITHOUT ROWID;
      CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);
      CREATE INDEX webhook_deliveries_by_seq ON webhook_deliveries (audit_seq);
      CREATE TABLE webhook_cursor (
        id        INTEGER PRIMARY KEY CHECK (id = 1),
        audit_seq BIGINT  NOT NULL
      );`,
    postgres: `
      CREATE TABLE webhook_deliveries (
        message_id      TEXT COLLATE "C" NOT NULL,
        endpoint        TEXT COLLATE "C" NOT NULL,
        event_type      TEXT    NOT NULL,
        payload         TEXT    NOT NULL,
        audit_seq       BIGINT  NOT NULL,
        created_at      BIGINT  NOT NULL,
        status          TEXT    NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
        attempts        INTEGER NOT NULL DEFAULT 0,
        next_attempt_at BIGINT  NOT NULL,
        last_attempt_at BIGINT,
        last_status     INTEGER,
        last_error      TEXT,
        delivered_at    BIGINT,
        PRIMARY KEY (message_id, endpoint)
      );
      CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);
      CREATE INDEX webhook_deliveries_by_seq ON webhook_deliveries (audit_seq);
      CREATE TABLE webhook_cursor (
        id        INTEGER PRIMARY KEY CHECK (id = 1),
        audit_seq BIGINT  NOT NULL
      );`,
  },
  {
    version: 9,
    name: 'add_key_apis',
    // The APIs of the gateway a key belongs to (`keys create --api orders`), a JSON list of API
    // names kept on the key row like `scopes`; the empty list (every key before this migration)
    // means every API. Read only with the rest of the row, so it needs no index.
    sqlite: `
      ALTER TABLE api_keys ADD COLUMN apis TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(apis));`,
    postgres: `
      ALTER TABLE api_keys ADD COLUMN apis JSONB NOT NULL DEFAULT '[]'::jsonb CHECK (jsonb_typeof(apis) = 'array');`,
  },
  {
    version: 10,
    name: 'create_key_profiles_and_anomaly_findings',
    // Anomaly detection (src/policies/anomaly). key_profiles: each key's learned baselines, one
    // row per key, rewritten in batches by every node's store write thread (first_seen keeps the
    // earliest any node wrote). key_profile_networks: the /24 (IPv4) and /48 (IPv6) networks a
    // key was used from, joined across nodes, the newest few kept per key.
    // key_anomaly_findings: one row per key, kind and window: the node whose INSERT … ON
    // CONFLICT DO NOTHING inserts it is the one that audits it and acts, so a finding several
    // nodes make at once counts once. Like usage, none references api_keys.
    sqlite: `
      CREATE TABLE key_profiles (
        key_id           TEXT   PRIMARY KEY,
        first_seen       BIGINT NOT NULL,
        updated_at       BIGINT NOT NULL,
        active_minutes   BIGINT NOT NULL CHECK (active_minutes >= 0),
        rate_baseline    REAL   NOT NULL CHECK (rate_baseline >= 0),
        address_baseline REAL   NOT NULL CHECK (address_baseline >= 0),
        denial_baseline  REAL   NOT NULL CHECK (denial_baseline BETWEEN 0 AND 1)
      ) WITHOUT ROWID;

      CREATE TABLE key_profile_networks (
        key_id    TEXT   NOT NULL,
        network   TEXT   NOT NULL,
        last_seen BIGINT NOT NULL,
        PRIMARY KEY (key_id, network)
      ) WITHOUT ROWID;

      CREATE TABLE key_anomaly_findings (
        key_id       TEXT   NOT NULL,
        kind         TEXT   NOT NULL CHECK (kind IN ('new_network', 'many_addresses', 'rate_spike', 'denial_spike')),
        window_start BIGINT NOT NULL,
        at           BIGINT NOT NULL,
        action       TEXT   NOT NULL CHECK (action IN ('notify', 'quarantine', 'revoke')),
        evidence     TEXT   NOT NULL CHECK (json_valid(evidence)),
        PRIMARY KEY (key_id, kind, window_start)
      ) WITHOUT ROWID;
      CREATE INDEX key_anomaly_findings_by_time ON key_anomaly_findings (at);`,
    postgres: `
      CREATE TABLE key_profiles (
        key_id           TEXT COLLATE "C" PRIMARY KEY,
        first_seen       BIGINT NOT NULL,
        updated_at       BIGINT NOT NULL,
        active_minutes   BIGINT NOT NULL CHECK (active_minutes >= 0),
        rate_baseline    DOUBLE PRECISION NOT NULL CHECK (rate_baseline >= 0),
        address_baseline DOUBLE PRECISION NOT NULL CHECK (address_baseline >= 0),
        denial_baseline  DOUBLE PRECISION NOT NULL CHECK (denial_baseline BETWEEN 0 AND 1)
      );

      CREATE TABLE key_profile_networks (
        key_id    TEXT COLLATE "C" NOT NULL,
        network   TEXT COLLATE "C" NOT NULL,
        last_seen BIGINT NOT NULL,
        PRIMARY KEY (key_id, network)
      );

      CREATE TABLE key_anomaly_findings (
        key_id       TEXT COLLATE "C" NOT NULL,
        kind         TEXT COLLATE "C" NOT NULL CHECK (kind IN ('new_network', 'many_addresses', 'rate_spike', 'denial_spike')),
        window_start BIGINT NOT NULL,
        at           BIGINT NOT NULL,
        action       TEXT COLLATE "C" NOT NULL CHECK (action IN ('notify', 'quarantine', 'revoke')),
        evidence     JSONB  NOT NULL,
        PRIMARY KEY (key_id, kind, window_start)
      );
      CREATE INDEX key_anomaly_findings_by_time ON key_anomaly_findings (at);`,
  },
  {
    version: 11,
    name: 'create_would_deny_minutes',
    // What the policies in report mode let through that enforcing would have refused, per
    // minute, code, API, route and key, summed across nodes (`portcullis report`). `key_id` is
    // '' for a request without a known key (a network or route would-deny comes before the
    // key check), so the primary key has no NULL in it; it is not a foreign key, as usage's is not.
    sqlite: `
      CREATE TABLE would_deny_minutes (
        minute   BIGINT NOT NULL,
        code     TEXT   NOT NULL,
        api      TEXT   NOT NULL,
        route    TEXT   NOT NULL,
        key_id   TEXT   NOT NULL,
        requests BIGINT NOT NULL CHECK (requests > 0),
        PRIMARY KEY (minute, code, api, route, key_id)
      ) WITHOUT ROWID;`,
    postgres: `
      CREATE TABLE would_deny_minutes (
        minute   BIGINT NOT NULL,
        code     TEXT COLLATE "C" NOT NULL,
        api      TEXT COLLATE "C" NOT NULL,
        route    TEXT COLLATE "C" NOT NULL,
        key_id   TEXT COLLATE "C" NOT NULL,
        requests BIGINT NOT NULL CHECK (requests > 0),
        PRIMARY KEY (minute, code, api, route, key_id)
      );`,
  },
  {
    version: 12,
    name: 'create_revoked_tokens',
    // Delegated DPoP tokens revoked one by one (src/verify/dpop/revoked-tokens.ts): a row per
    // token id (`jti`) until the token would have expired anyway (`expires_at`), then purged, so
    // the list stays bounded. Every node polls the rows revoked since it last looked
    // (`revoked_at`). `key_id` is the parent key when the revoker named it, '' otherwise.
    sqlite: `
      CREATE TABLE revoked_tokens (
        token_id   TEXT   NOT NULL PRIMARY KEY,
        key_id     TEXT   NOT NULL,
        expires_at BIGINT NOT NULL,
        revoked_at BIGINT NOT NULL,
        reason     TEXT
      );
      CREATE INDEX revoked_tokens_by_revoked_at ON revoked_tokens (revoked_at);`,
    postgres: `
      CREATE TABLE revoked_tokens (
        token_id   TEXT COLLATE "C" NOT NULL PRIMARY KEY,
        key_id     TEXT COLLATE "C" NOT NULL,
        expires_at BIGINT NOT NULL,
        revoked_at BIGINT NOT NULL,
        reason     TEXT
      );
      CREATE INDEX revoked_tokens_by_revoked_at ON revoked_tokens (revoked_at);`,
  },
  {
    version: 13,
    name: 'index_api_keys_by_expiry',
    // The webhook thread's `key.expiring` scan (src/webhooks): live keys whose expiry falls in
    // the next `webhooks.expiringWithin`, a range read on this partial index instead of a scan
    // of every key.
    sqlite: `
      CREATE INDEX api_keys_by_expiry ON api_keys (expires_at) WHERE expires_at IS NOT NULL AND revoked_at IS NULL;`,
    postgres: `
      CREATE INDEX api_keys_by_expiry ON api_keys (expires_at) WHERE expires_at IS NOT NULL AND revoked_at IS NULL;`,
  },
  {
    version: 14,
    name: 'create_api_usage_and_websocket_minutes',
    // Usage by API (`apis[].name`, `default` with one upstream): requests per minute, API and
    // outcome (`forwarded`, `aborted` or the error code), every request matched to an API,
    // with or without a key, summed across nodes. WebSockets per key and minute: how many were
    // opened (summed across nodes) and the most open at once on one node (merged with max: a
    // node's own peak, as `websockets.maxPerKey` is a per-node limit). Neither is a foreign
    // key, as usage's minutes are not.
    sqlite: `
      CREATE TABLE api_usage_minutes (
        minute   BIGINT NOT NULL,
        api      TEXT   NOT NULL,
        outcome  TEXT   NOT NULL,
        requests BIGINT NOT NULL CHECK (requests > 0),
        PRIMARY KEY (minute, api, outcome)
      ) WITHOUT ROWID;
      CREATE TABLE websocket_minutes (
        key_id TEXT   NOT NULL,
        minute BIGINT NOT NULL,
        opened BIGINT NOT NULL CHECK (opened >= 0),
        peak   BIGINT NOT NULL CHECK (peak >= 0),
        PRIMARY KEY (key_id, minute)
      ) WITHOUT ROWID;
      CREATE INDEX websocket_minutes_by_minute ON websocket_minutes (minute);`,
    postgres: `
      CREATE TABLE api_usage_minutes (
        minute   BIGINT NOT NULL,
        api      TEXT COLLATE "C" NOT NULL,
        outcome  TEXT COLLATE "C" NOT NULL,
        requests BIGINT NOT NULL CHECK (requests > 0),
        PRIMARY KEY (minute, api, outcome)
      );
      CREATE TABLE websocket_minutes (
        key_id TEXT COLLATE "C" NOT NULL,
        minute BIGINT NOT NULL,
        opened BIGINT NOT NULL CHECK (opened >= 0),
        peak   BIGINT NOT NULL CHECK (peak >= 0),
        PRIMARY KEY (key_id, minute)
      );
      CREATE INDEX websocket_minutes_by_minute ON websocket_minutes (minute);`,
  },
  {
    version: 15,
    name: 'add_key_leak_action_and_profile_countries',
    // api_keys.leak_action: the key's own action on a leak report or an anomaly finding, over
    // its tags' and the global default (src/keys/tag-actions.ts); NULL inherits.
    // key_profile_countries: the countries (ISO 3166 alpha-2) a key was used from, when
    // `anomaly.countries` is on, joined across nodes like key_profile_networks; the earliest
    // `first_seen` is when the key began learning countries (its own learning window). The findings'
    // kind check gains `new_country` (SQLite cannot change a CHECK: the table is rebuilt).
    sqlite: `
      ALTER TABLE api_keys ADD COLUMN leak_action TEXT CHECK (leak_action IN ('notify', 'quarantine', 'revoke'));

      CREATE TABLE key_profile_countries (
        key_id     TEXT   NOT NULL,
        country    TEXT   NOT NULL CHECK (length(country) = 2),
        first_seen BIGINT NOT NULL,
        last_seen  BIGINT NOT NULL,
        PRIMARY KEY (key_id, country)
      ) WITHOUT ROWID;

      CREATE TABLE key_anomaly_findings_15 (
        key_id       TEXT   NOT NULL,
        kind         TEXT   NOT NULL CHECK (kind IN ('new_network', 'many_addresses', 'rate_spike', 'denial_spike', 'new_country')),
        window_start BIGINT NOT NULL,
        at           BIGINT NOT NULL,
        action       TEXT   NOT NULL CHECK (action IN ('notify', 'quarantine', 'revoke')),
        evidence     TEXT   NOT NULL CHECK (json_valid(evidence)),
        PRIMARY KEY (key_id, kind, window_start)
      ) WITHOUT ROWID;
      INSERT INTO key_anomaly_findings_15 SELECT key_id, kind, window_start, at, action, evidence FROM key_anomaly_findings;
      DROP TABLE key_anomaly_findings;
      ALTER TABLE key_anomaly_findings_15 RENAME TO key_anomaly_findings;
      CREATE INDEX key_anomaly_findings_by_time ON key_anomaly_findings (at);`,
    postgres: `
      ALTER TABLE api_keys ADD COLUMN leak_action TEXT COLLATE "C" CHECK (leak_action IN ('notify', 'quarantine', 'revoke'));

      CREATE TABLE key_profile_countries (
        key_id     TEXT COLLATE "C" NOT NULL,
        country    TEXT COLLATE "C" NOT NULL CHECK (length(country) = 2),
        first_seen BIGINT NOT NULL,
        last_seen  BIGINT NOT NULL,
        PRIMARY KEY (key_id, country)
      );

      ALTER TABLE key_anomaly_findings DROP CONSTRAINT key_anomaly_findings_kind_check;
      ALTER TABLE key_anomaly_findings ADD CONSTRAINT key_anomaly_findings_kind_check
        CHECK (kind IN ('new_network', 'many_addresses', 'rate_spike', 'denial_spike', 'new_country'));`,
  },
];

/** The schema version this code writes and understands. */
export const latestSchemaVersion: number = migrations.at(-1)?.version ?? 0;
