/**
 * The tables `portcullis store migrate` copies from SQLite to PostgreSQL, in an order that
 * satisfies their foreign keys. Every table a migration creates must be listed here: the
 * copy refuses to run when the source has a table that is not, so a new table can never be
 * left behind silently. Columns are not listed: every column of the table is copied, and the
 * copy refuses to run when the two databases disagree on a table's columns.
 */
export interface CopiedTable {
  name: string;
  /** The primary key: rows are matched on it and read in its order. */
  key: readonly string[];
  /**
   * Columns that reference rows of the same table, set in a second pass once every row
   * exists (an old key's `rotated_to` names its replacement). Text columns referencing a
   * text key.
   */
  deferred?: readonly string[];
  /**
   * Rows never change once written (a log): missing rows are added, and a row that exists
   * on both sides must be identical, or the copy is refused.
   */
  appendOnly?: boolean;
}

export const copiedTables: readonly CopiedTable[] = [
  { name: 'api_keys', key: ['id'], deferred: ['rotated_to'] },
  { name: 'key_tags', key: ['key_id', 'tag'] },
  { name: 'key_events', key: ['seq'], appendOnly: true },
  { name: 'key_quota_usage', key: ['key_id'] },
  // The hash chain is copied as it is (same seq, same hashes), so it still verifies, and
  // `audit_head` with it. The copy holds `audit_head` locked, so no append interleaves.
  { name: 'audit_log', key: ['seq'], appendOnly: true },
  { name: 'audit_head', key: ['id'] },
  { name: 'admin_tokens', key: ['id'] },
  { name: 'token_signing_keys', key: ['kid'] },
  { name: 'revoked_tokens', key: ['token_id'] },
  { name: 'usage_minutes', key: ['key_id', 'minute'] },
  { name: 'usage_denials', key: ['key_id', 'minute', 'code'] },
  { name: 'usage_addresses', key: ['key_id', 'minute', 'address'] },
  { name: 'would_deny_minutes', key: ['minute', 'code', 'api', 'route', 'key_id'] },
  { name: 'api_usage_minutes', key: ['minute', 'api', 'outcome'] },
  { name: 'websocket_minutes', key: ['key_id', 'minute'] },
  { name: 'key_profiles', key: ['key_id'] },
  { name: 'key_profile_networks', key: ['key_id', 'network'] },
  { name: 'key_profile_countries', key: ['key_id', 'country'] },
  { name: 'key_anomaly_findings', key: ['key_id', 'kind', 'window_start'] },
];

/** Tables that belong to each database itself and are not copied. */
// node_heartbeats: each node writes its own row again within seconds. webhook_deliveries and
// webhook_cursor: the delivery log and where it stands in the audit log belong to the database
// that sent them; after a move, the new store's dispatcher starts from its own cursor.
export const uncopiedTables: ReadonlySet<string> = new Set(['schema_migrations', 'sqlite_sequence', 'node_heartbeats', 'webhook_deliveries', 'webhook_cursor']);
