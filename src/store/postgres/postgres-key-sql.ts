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
  ['rate_limit', 'rateLimit'], ['quota', 'quota'], ['metadata', 'metadata'], ['created_at', 'createdAt'], ['updated_at', 'updatedAt'],
  ['expires_at', 'expiresAt'], ['revoked_at', 'revokedAt'], ['revoked_reason', 'revokedReason'],
  ['quarantined_at', 'quarantinedAt'], ['quarantined_reason', 'quarantinedReason'],
  ['rotated_to', 'rotatedTo'], ['last_used_at', 'lastUsedAt'], ['last_used_address', 'lastUsedAddress'],
  ['signing_key', 'signingKey'], ['apis', 'apis'], ['leak_action', 'leakAction'],
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
  // $8 fingerprint, $9 rate limit, $10 metadata, $11 now, $12 expiry, $13 quota, $14 signing
  // key (PEM), $15 APIs (JSON), $16 leak action.
  insertKey: `WITH changed AS (
      INSERT INTO api_keys (id, name, digest, display_prefix, tags, scopes, allowed_cidrs, cert_fingerprint,
        rate_limit, metadata, created_at, updated_at, expires_at, quota, signing_key, apis, leak_action)
      VALUES ($1, $2, $3, $4, $5::jsonb, $6::jsonb, $7::jsonb, $8, $9, $10::jsonb, $11, $11, $12, $13, $14, $15::jsonb, $16)
      RETURNING ${columns}
    ), tagged AS (
      INSERT INTO key_tags (key_id, tag) SELECT $1, tag FROM jsonb_array_elements_text($5::jsonb) AS tag
      ON CONFLICT DO NOTHING
    )${withEvent('created', '$11')}`,
  // $1 ids … $12 expiry times (arrays, one element per key), $13 now, $14 signing keys and
  // $15 APIs and $16 leak actions (arrays): many keys in one statement (`importKeys`), with their tags and
  // `created` events in the input's order.
  importKeys: `WITH input AS (
      SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::jsonb[], $6::jsonb[], $7::jsonb[],
        $8::text[], $9::text[], $10::text[], $11::jsonb[], $12::bigint[], $14::text[], $15::jsonb[], $16::text[])
        WITH ORDINALITY AS u(id, name, digest, display_prefix, tags, scopes, allowed_cidrs, cert_fingerprint, rate_limit, quota, metadata, expires_at, signing_key, apis, leak_action, n)
    ), changed AS (
      INSERT INTO api_keys (id, name, digest, display_prefix, tags, scopes, allowed_cidrs, cert_fingerprint,
        rate_limit, quota, metadata, created_at, updated_at, expires_at, signing_key, apis, leak_action)
      SELECT id, name, digest, display_prefix, tags, scopes, allowed_cidrs, cert_fingerprint, rate_limit, quota, metadata, $13, $13, expires_at, signing_key, apis, leak_action
      FROM input ORDER BY n
      RETURNING id, tags
    ), tagged AS (
      INSERT INTO key_tags (key_id, tag) SELECT c.id, t.tag FROM changed c, jsonb_array_elements_text(c.tags) AS t(tag)
      ON CONFLICT DO NOTHING
    )
    INSERT INTO key_events (key_id, kind, at) SELECT id, 'created', $13 FROM input ORDER BY n`,
  // $1 digests: those already stored.
  storedDigests: 'SELECT digest FROM api_keys WHERE digest = ANY($1::text[])',
  keyById: `SELECT ${columns} FROM api_keys WHERE id = $1`,
  keyByIdForUpdate: `SELECT ${columns} FROM api_keys WHERE id = $1 FOR UPDATE`,
  keyByDigest: `SELECT ${columns} FROM api_keys WHERE digest = $1`,
  recentlyUsed: `SELECT ${columns} FROM api_keys WHERE revoked_at IS NULL AND last_used_at IS NOT NULL ORDER BY last_used_at DESC LIMIT $1`,
  // No index yet: asked once per client certificate (then cached), and only with tls.certificateIdentity on.
  keysByCertFingerprint: `SELECT ${columns} FROM api_keys WHERE cert_fingerprint = $1 ORDER BY created_at DESC, id DESC LIMIT 100`,
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
  // $1 id, $2 reason, $3 now. A revoked key stays revoked; a quarantined one keeps its first time and reason.
  quarantine: `WITH changed AS (
      UPDATE api_keys SET quarantined_at = $3, quarantined_reason = $2, updated_at = $3
      WHERE id = $1 AND revoked_at IS NULL AND quarantined_at IS NULL RETURNING ${columns}
    )${withEvent('quarantined', '$3')}`,
  // $1 id, $2 now. Returns the record as it was released, with the quarantine it lifted.
  release: `WITH before AS (
      SELECT id, quarantined_at, quarantined_reason FROM api_keys WHERE id = $1 AND quarantined_at IS NOT NULL FOR UPDATE
    ), changed AS (
      UPDATE api_keys k SET quarantined_at = NULL, quarantined_reason = NULL, updated_at = $2
      FROM before b WHERE k.id = b.id
      RETURNING ${keyColumns('k')}, b.quarantined_at AS "liftedAt", b.quarantined_reason AS "liftedReason"
    )${withEvent('released', '$2')}`,
  // $1 id, $2 expiry, $3 replacement id, $4 now.
  markRotated: `WITH changed AS (
      UPDATE api_keys SET expires_at = $2, rotated_to = $3, updated_at = $4 WHERE id = $1 RETURNING ${columns}
    )${withEvent('rotated', '$4')}`,
  // $1 id, $2 name, $3 tags (JSON), $4 scopes, $5 CIDRs, $6 fingerprint, $7 rate limit,
  // $8 quota, $9 metadata, $10 expiry, $11 now, $12 signing key (PEM), $13 APIs (JSON), $14 leak action.
  updateSettings: `WITH changed AS (
      UPDATE api_keys SET name = $2, tags = $3::jsonb, scopes = $4::jsonb, allowed_cidrs = $5::jsonb,
        cert_fingerprint = $6, rate_limit = $7, quota = $8, metadata = $9::jsonb, expires_at = $10, updated_at = $11,
        signing_key = $12, apis = $13::jsonb, leak_action = $14
      WHERE id = $1 RETURNING ${columns}
    )${withEvent('updated', '$11')}`,
  // A tag change replaces the key's tag rows: delete, then insert $2 (JSON). Two statements,
  // since the CTEs of one statement share a snapshot and the insert would see the old rows.
  deleteTags: 'DELETE FROM key_tags WHERE key_id = $1',
  insertTags: `INSERT INTO key_tags (key_id, tag) SELECT $1, tag FROM jsonb_array_elements_text($2::jsonb) AS tag
    ON CONFLICT (key_id, tag) DO NOTHING`,
  // One counter per key, for its latest period: a newer period replaces the count, an older
  // one (a late flush from a slow node) leaves it alone. Unknown keys insert nothing.
  // $1 key id, $2 period start, $3 count.
  addQuotaUsage: `INSERT INTO key_quota_usage AS q (key_id, period_start, used)
    SELECT $1, $2, $3 WHERE EXISTS (SELECT 1 FROM api_keys WHERE id = $1)
    ON CONFLICT (key_id) DO UPDATE SET
      used = CASE
        WHEN excluded.period_start = q.period_start THEN q.used + excluded.used
        WHEN excluded.period_start > q.period_start THEN excluded.used
        ELSE q.used END,
      period_start = greatest(q.period_start, excluded.period_start)
    RETURNING key_id AS "keyId", period_start AS "periodStart", used`,
  quotaUsage: 'SELECT key_id AS "keyId", period_start AS "periodStart", used FROM key_quota_usage WHERE key_id = $1',
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
