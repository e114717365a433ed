import { existsSync } from 'node:fs';
import Database from 'better-sqlite3';
import pg from 'pg';
import { openSqliteKeyStore } from '../sqlite/sqlite-key-store.ts';
import { openPostgresKeyStore } from '../postgres/postgres-key-store.ts';
import { connectionOptions } from '../postgres/postgres-connection.ts';
import { lockEventLogSql, notifyKeyEventsSql } from '../postgres/postgres-event-log.ts';
import { copiedTables, uncopiedTables, type CopiedTable } from './copied-tables.ts';

export interface TableCopyReport {
  table: string;
  /** Rows in the source table. */
  rows: number;
  /** Rows the destination did not have. */
  added: number;
  /** Rows the destination had with different values (the source's values now stand). */
  updated: number;
}

const PAGE_ROWS = 500;

type Row = Record<string, unknown>;

function quote(identifier: string): string {
  return `"${identifier.replaceAll('"', '""')}"`;
}

/** Columns of every table in each database, in the SQLite order. */
function sqliteColumns(db: Database.Database): Map<string, string[]> {
  const tables = db.prepare<[], string>("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all();
  return new Map(tables.map((table) => [table, db.prepare<[], { name: string }>(`PRAGMA table_info(${quote(table)})`).all().map((column) => column.name)]));
}

async function postgresColumns(client: pg.Client): Promise<Map<string, Set<string>>> {
  const { rows } = await client.query<{ table_name: string; column_name: string }>(
    'SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = current_schema()',
  );
  const columns = new Map<string, Set<string>>();
  for (const { table_name: table, column_name: column } of rows) {
    if (!columns.has(table)) columns.set(table, new Set());
    columns.get(table)!.add(column);
  }
  return columns;
}

/** Refuses to copy unless every source table is known and both sides agree on every column. */
function checkSchemasMatch(source: Map<string, string[]>, target: Map<string, Set<string>>): void {
  const unknown = [...source.keys()].filter((table) => !uncopiedTables.has(table) && !copiedTables.some((copied) => copied.name === table));
  if (unknown.length > 0) throw new Error(`store migrate does not know how to copy the table(s) ${unknown.join(', ')}; add them to src/store/copy/copied-tables.ts`);
  for (const { name } of copiedTables) {
    const from = source.get(name) ?? [];
    const to = target.get(name) ?? new Set<string>();
    const differ = [...from.filter((column) => !to.has(column)), ...[...to].filter((column) => !from.includes(column))];
    if (differ.length > 0) throw new Error(`Table ${name} has different columns in SQLite and PostgreSQL (${differ.join(', ')}); are both at the same schema version?`);
  }
}

/** Reads a table page by page in key order (keyset paging, so memory stays bounded). */
function* sourcePages(db: Database.Database, table: CopiedTable, columns: readonly string[]): Generator<Row[]> {
  const keyList = table.key.map(quote).join(', ');
  const select = `SELECT ${columns.map(quote).join(', ')} FROM ${quote(table.name)}`;
  const first = db.prepare<[number], Row>(`${select} ORDER BY ${keyList} LIMIT ?`);
  const next = db.prepare<unknown[], Row>(`${select} WHERE (${keyList}) > (${table.key.map(() => '?').join(', ')}) ORDER BY ${keyList} LIMIT ?`);
  let page = first.all(PAGE_ROWS);
  while (page.length > 0) {
    yield page;
    if (page.length < PAGE_ROWS) return;
    const last = page.at(-1)!;
    page = next.all(...table.key.map((column) => last[column]), PAGE_ROWS);
  }
}

/**
 * A SQLite value as PostgreSQL keeps it. Every numeric column is an integer (BIGINT), but
 * SQLite keeps what it was given: stores before the write-time check (stored-values.ts) wrote
 * request times with fractions of a millisecond (`last_used_at`), which PostgreSQL refuses.
 * They are floored, as a store floors them today.
 */
function asCopied(value: unknown): unknown {
  return typeof value === 'number' && !Number.isInteger(value) ? Math.floor(value) : value;
}

/** A value as both drivers would print it, for comparing an append-only row across databases. */
function comparable(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'number') return String(asCopied(value));
  if (typeof value === 'object') return JSON.stringify(value);
  if (typeof value === 'boolean') return value ? '1' : '0';
  return String(value);
}

/**
 * An append-only table (the change log) may already hold rows from an earlier copy, but
 * each must be exactly the source's row with that key. A row the source does not have means
 * the destination has moved on by itself (keys were changed there), and copying over it
 * could undo those changes, a revocation included.
 */
async function checkAppendOnlyPrefix(db: Database.Database, client: pg.Client, table: CopiedTable, columns: readonly string[]): Promise<void> {
  const keyList = table.key.map(quote).join(', ');
  const columnList = columns.map(quote).join(', ');
  let after: unknown[] | null = null;
  for (;;) {
    const where: string = after === null ? '' : `WHERE (${keyList}) > (${table.key.map((_, i) => `$${i + 1}`).join(', ')})`;
    const { rows }: { rows: Row[] } = await client.query<Row>(`SELECT ${columnList} FROM ${quote(table.name)} ${where} ORDER BY ${keyList} LIMIT ${PAGE_ROWS}`, after ?? []);
    if (rows.length === 0) return;
    const lookup = db.prepare<unknown[], Row>(`SELECT ${columnList} FROM ${quote(table.name)} WHERE (${keyList}) = (${table.key.map(() => '?').join(', ')})`);
    for (const row of rows) {
      const key = table.key.map((column) => row[column]);
      const original = lookup.get(...key);
      if (original === undefined || columns.some((column) => comparable(row[column]) !== comparable(original[column]))) {
        throw new Error(
          `The PostgreSQL store's ${table.name} has a row (${table.key.join(', ')} = ${key.join(', ')}) that the SQLite store does not: ` +
            'it has changed since an earlier copy, or it belongs to another deployment. Nothing was copied.',
        );
      }
    }
    after = table.key.map((column) => rows.at(-1)![column]);
  }
}

/** A row's primary key as one string, to recognise it across the two passes. */
function keyOf(table: CopiedTable, row: Row): string {
  return JSON.stringify(table.key.map((column) => row[column]));
}

/**
 * Adds missing rows and brings changed ones up to date, one page per statement. Returns the
 * report and, for tables with deferred columns, the keys of the rows it added or changed.
 */
async function copyTable(db: Database.Database, client: pg.Client, table: CopiedTable, columns: readonly string[]): Promise<{ report: TableCopyReport; countedKeys: Set<string> }> {
  const deferred = new Set(table.deferred ?? []);
  const updatable = columns.filter((column) => !table.key.includes(column) && !deferred.has(column));
  const columnList = columns.map(quote).join(', ');
  const onConflict =
    table.appendOnly || updatable.length === 0
      ? 'DO NOTHING'
      : `DO UPDATE SET ${updatable.map((column) => `${quote(column)} = EXCLUDED.${quote(column)}`).join(', ')}
         WHERE (${updatable.map((column) => `${quote(table.name)}.${quote(column)}`).join(', ')}) IS DISTINCT FROM (${updatable.map((column) => `EXCLUDED.${quote(column)}`).join(', ')})`;
  const report: TableCopyReport = { table: table.name, rows: 0, added: 0, updated: 0 };
  const countedKeys = new Set<string>();
  const returning = table.key.map(quote).join(', ');
  for (const page of sourcePages(db, table, columns)) {
    const values: unknown[] = [];
    const tuples = page.map((row) => `(${columns.map((column) => {
      values.push(deferred.has(column) ? null : asCopied(row[column]));
      return `$${values.length}`;
    }).join(', ')})`);
    const { rows } = await client.query<Row & { added: boolean }>(
      `INSERT INTO ${quote(table.name)} (${columnList}) VALUES ${tuples.join(', ')}
       ON CONFLICT (${table.key.map(quote).join(', ')}) ${onConflict} RETURNING ${returning}, (xmax = 0) AS added`,
      values,
    );
    report.rows += page.length;
    for (const row of rows) {
      if (row.added) report.added++;
      else report.updated++;
      if (deferred.size > 0) countedKeys.add(keyOf(table, row));
    }
  }
  return { report, countedKeys };
}

/**
 * Second pass: self-references, now that every row they may name exists. Returns how many
 * rows changed that the first pass did not already count as added or updated.
 */
async function copyDeferredColumns(db: Database.Database, client: pg.Client, table: CopiedTable, countedKeys: ReadonlySet<string>): Promise<number> {
  let changed = 0;
  for (const column of table.deferred ?? []) {
    const columns = [...table.key, column];
    for (const page of sourcePages(db, table, columns)) {
      const values: unknown[] = [];
      const tuples = page.map((row) => `(${columns.map((name) => {
        values.push(row[name]);
        return `$${values.length}::text`;
      }).join(', ')})`);
      const alias = columns.map((_, i) => `c${i}`);
      const match = table.key.map((name, i) => `t.${quote(name)} = v.c${i}`).join(' AND ');
      const { rows } = await client.query<Row>(
        `UPDATE ${quote(table.name)} t SET ${quote(column)} = v.c${columns.length - 1}
         FROM (VALUES ${tuples.join(', ')}) AS v(${alias.join(', ')})
         WHERE ${match} AND t.${quote(column)} IS DISTINCT FROM v.c${columns.length - 1}
         RETURNING ${table.key.map((name) => `t.${quote(name)}`).join(', ')}`,
        values,
      );
      changed += rows.filter((row) => !countedKeys.has(keyOf(table, row))).length;
    }
  }
  return changed;
}

/** Moves every serial column's sequence past the copied values, so new rows do not collide. */
async function advanceSequences(client: pg.Client, table: string, columns: readonly string[]): Promise<void> {
  for (const column of columns) {
    const { rows } = await client.query<{ sequence: string | null }>('SELECT pg_get_serial_sequence($1, $2) AS sequence', [quote(table), column]);
    const sequence = rows[0]?.sequence ?? null;
    if (sequence === null) continue;
    await client.query(`SELECT setval($1, max(${quote(column)})) FROM ${quote(table)} HAVING max(${quote(column)}) IS NOT NULL`, [sequence]);
  }
}

/**
 * Copies a SQLite key store into a PostgreSQL one: every row of every table in
 * `copied-tables.ts`, every column, digests only (no store ever holds a plaintext key).
 *
 * Idempotent: a second run adds and changes nothing; a run after more changes in SQLite
 * carries them over (the source's values stand for every copied row). It refuses to run
 * when the PostgreSQL change log holds events that SQLite does not, because then keys were
 * changed there and copying could undo that. The whole copy is one PostgreSQL transaction
 * holding the change log's lock, and it wakes the gateways on commit; SQLite is read in one
 * snapshot, so a gateway still writing to it meanwhile is harmless.
 *
 * @example
 * const tables = await copySqliteStoreToPostgres('./data/portcullis.db', 'postgres://db/portcullis');
 */
export async function copySqliteStoreToPostgres(from: string, to: string): Promise<TableCopyReport[]> {
  if (!existsSync(from)) throw new Error(`No SQLite key store at ${from}.`);
  // Each side's own migrations bring it to this version's schema first.
  await (await openSqliteKeyStore(from)).close();
  await (await openPostgresKeyStore(to)).close();

  const db = new Database(from, { readonly: true, fileMustExist: true });
  const client = new pg.Client({ ...connectionOptions(to), query_timeout: undefined });
  client.on('error', () => {});
  try {
    await client.connect();
    const columns = sqliteColumns(db);
    checkSchemasMatch(columns, await postgresColumns(client));
    db.exec('BEGIN'); // one consistent snapshot of the source
    await client.query(`BEGIN; ${lockEventLogSql}`);
    try {
      // Admin-token changes append to the audit log without the change log's lock: hold the
      // audit head too, so no entry is chained onto a head the copy is about to replace.
      await client.query('SELECT seq FROM audit_head WHERE id = 1 FOR UPDATE');
      for (const table of copiedTables) if (table.appendOnly) await checkAppendOnlyPrefix(db, client, table, columns.get(table.name)!);
      const reports: TableCopyReport[] = [];
      for (const table of copiedTables) {
        const tableColumns = columns.get(table.name)!;
        const { report, countedKeys } = await copyTable(db, client, table, tableColumns);
        report.updated += await copyDeferredColumns(db, client, table, countedKeys);
        await advanceSequences(client, table.name, tableColumns);
        reports.push(report);
      }
      await client.query(`${notifyKeyEventsSql}; COMMIT`);
      return reports;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw error;
    } finally {
      db.exec('COMMIT');
    }
  } finally {
    db.close();
    await client.end().catch(() => {});
  }
}
