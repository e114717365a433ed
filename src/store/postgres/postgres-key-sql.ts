/**
 * The statements of the PostgreSQL key store. Columns are selected under the `KeyRecord`
 * property names (`display_prefix AS "displayPrefix"`), and with JSONB decoded by `pg` and
 * BIGINT by the store's type parser, a row *is* a `KeyRecord`: no mapping step.
 *
 * Every statement that changes a key appends its `key_events` row in the same statement (a
 * data-modifying CTE), and runs inside `inEventTransaction`, which orders the log.
 */

const keyColumnList: ReadonlyArray<readonly [column: string, property: string]> = [
  ['id', 'id'], ['name', 'name'], ['digest', 'digest'], ['display_prefix', 'displayPrefix'], ['tags', 'tags'],
  ['scopes', 'scopes'], ['allowed_cidrs', 'allowedCidrs'], ['cert_fingerprint', 'certFingerprint'],
  ['rate_limit', 'rateLimit'], ['metadata', 'metadata'], ['created_at', 'createdAt'], ['updated_at', 'updatedAt'],
  ['expires_at', 'expiresAt'], ['revoked_at', 'revokedAt'], ['revoked_reason', 'revokedReason'],
  ['rotated_to', 'rotatedTo'], ['last_used_at', 'lastUsedAt'], ['last_used_address', 'lastUsedAddress'],
];

/** `k.id, k.display_prefix AS "displayPrefix", …` for a table alias (or none). */
function keyColumns(alias = ''): string {
  const qualifier = alias === '' ? '' : `${alias}.`;
  return keyColumnList.map(([column, property]) => (column === property ? `${qualifier}${column}` : `${qualifier}${column} AS "${property}"`)).join(', ');
}

const columns = keyColumns();

/** Appends one event per row of the CTE `changed`, in id order, and returns those rows. */
function withEvent(kind: string, at: string): string {
  return `, logged AS (INSERT INTO key_events (key_id, kind, at) SELECT id, '${kind}', ${at} FROM changed ORDER BY id)
    SELECT * FROM changed`;
}

export const postgresKeyStoreSql = {
  // $1 id, $2 name, $3 digest, $4 display prefix, $5 tags (JSON), $6 scopes, $7 CIDRs,
  // $8 fingerprint, $9 rate limit, $10 metadata, $11 now, $12 expiry.
  insertKey: `WITH changed AS (
      INSERT INTO api_keys (id, name, digest, display_prefix, tags, scopes, allowed_cidrs, cert_fingerprint,
        rate_limit, metadata, created_at, updated_at, expires_at)
      VALUES ($1, $2, $3, $4, $5::jsonb, $6::jsonb, $7::jsonb, $8, $9, $10::jsonb, $11, $11, $12)
      RETURNING ${columns}
    ), tagged AS (
      INSERT INTO key_tags (key_id, tag) SELECT $1, tag FROM jsonb_array_elements_text($5::jsonb) AS tag
      ON CONFLICT DO NOTHING
    )${withEvent('created', '$11')}`,
  keyById: `SELECT ${columns} FROM api_keys WHERE id = $1`,
  keyByDigest: `SELECT ${columns} FROM api_keys WHERE digest = $1`,
  listAll: `SELECT ${columns} FROM api_keys ORDER BY id LIMIT $1`,
  listAfter: `SELECT ${columns} FROM api_keys WHERE id > $1 ORDER BY id LIMIT $2`,
  listByTag: `SELECT ${keyColumns('k')} FROM key_tags t JOIN api_keys k ON k.id = t.key_id
    WHERE t.tag = $1 ORDER BY t.key_id LIMIT $2`,
  listByTagAfter: `SELECT ${keyColumns('k')} FROM key_tags t JOIN api_keys k ON k.id = t.key_id
    WHERE t.tag = $1 AND t.key_id > $2 ORDER BY t.key_id LIMIT $3`,
  // $1 id, $2 reason, $3 now. Only an unrevoked key changes: the first revocation stands.
  revoke: `WITH changed AS (
      UPDATE api_keys SET revoked_at = $3, revoked_reason = $2, updated_at = $3
      WHERE id = $1 AND revoked_at IS NULL RETURNING ${columns}
    )${withEvent('revoked', '$3')}`,
  // $1 tag, $2 reason, $3 now.
  revokeByTag: `WITH changed AS (
      UPDATE api_keys k SET revoked_at = $3, revoked_reason = $2, updated_at = $3
      FROM key_tags t WHERE t.tag = $1 AND t.key_id = k.id AND k.revoked_at IS NULL
      RETURNING ${keyColumns('k')}
    )${withEvent('revoked', '$3')}`,
  // $1 id, $2 expiry, $3 replacement id, $4 now.
  markRotated: `WITH changed AS (
      UPDATE api_keys SET expires_at = $2, rotated_to = $3, updated_at = $4 WHERE id = $1 RETURNING ${columns}
    )${withEvent('rotated', '$4')}`,
  // $1 ids, $2 times, $3 addresses. The newest use per key in the batch wins; a use only moves
  // the last-used facts forward, so batches from several nodes may land in any order, and a
  // concurrent batch is re-checked against the row it waited for (no lost update). Rows are
  // locked in id order, so two nodes flushing overlapping batches cannot deadlock.
  recordUsage: `WITH batch AS (
      SELECT DISTINCT ON (id) id, at, address
      FROM unnest($1::text[], $2::bigint[], $3::text[]) AS u(id, at, address)
      ORDER BY id, at DESC
    ), locked AS (
      SELECT k.id FROM api_keys k JOIN batch b ON b.id = k.id
      WHERE k.last_used_at IS NULL OR k.last_used_at < b.at
      ORDER BY k.id FOR UPDATE OF k
    )
    UPDATE api_keys k SET last_used_at = b.at, last_used_address = b.address
    FROM batch b WHERE k.id = b.id AND k.id IN (SELECT id FROM locked)
      AND (k.last_used_at IS NULL OR k.last_used_at < b.at)`,
  eventsSince: 'SELECT seq, key_id AS "keyId", kind, at FROM key_events WHERE seq > $1 ORDER BY seq LIMIT $2',
  latestEventSeq: 'SELECT coalesce(max(seq), 0)::bigint AS seq FROM key_events',
} as const;
