import Database from 'better-sqlite3';
import type { KeyRecord } from '../../keys/key-record.ts';
import type { ChangeBatch, ChangeFeedReads, KeyLookups } from '../change-feed-reads.ts';
import type { KeyEvent } from '../key-store.ts';
import { checkEventLimit } from '../key-store-rules.ts';
import { recordFromRow, recordOrNull, sqliteKeyStoreSql, type KeyRow } from './sqlite-key-store.ts';

/**
 * The change log's reads and the key cache's lookups on a connection of their own; `close` ends
 * it. Lookups by digest come in batches (the thread's handle gathers them), so there is no
 * single `getKeyByDigest`.
 */
export interface SqliteChangeFeedReads extends ChangeFeedReads, Omit<KeyLookups, 'getKeyByDigest'> {
  /** The record of each digest (null: none), in order, in one read transaction. */
  getKeysByDigest(digests: readonly string[]): Promise<Array<KeyRecord | null>>;
  /** The unrevoked keys used most recently, newest first (the key cache's warm-up at start). */
  recentlyUsedKeys(limit: number): Promise<KeyRecord[]>;
  close(): void;
}

/**
 * Opens a read-only connection to the SQLite store at `path` (which must exist, migrated by
 * the gateway already) for the change feed and the key cache's lookups: in WAL mode it reads
 * beside the writers of every other connection, and never writes. Each `changesSince` reads
 * the events and the records they name in one read transaction, so the records are those of
 * one moment of the store; so does each `getKeysByDigest` for its digests. better-sqlite3 is
 * synchronous: it is opened in the change feed thread, not on the request thread.
 */
export function openSqliteChangeFeedReads(path: string): SqliteChangeFeedReads {
  const db = new Database(path, { readonly: true, fileMustExist: true, timeout: 5000 });
  try {
    const sql = sqliteKeyStoreSql;
    const eventsSince = db.prepare<[number, number], KeyEvent>(sql.eventsSince);
    const keyById = db.prepare<[string], KeyRow>(sql.keyById);
    const keyByDigest = db.prepare<[string], KeyRow>(sql.keyByDigest);
    const keysByCertFingerprint = db.prepare<[string], KeyRow>(sql.keysByCertFingerprint);
    const latestEventSeq = db.prepare<[], number>(sql.latestEventSeq).pluck();
    const recentlyUsed = db.prepare<[number], KeyRow>(sql.recentlyUsed);
    const readKeysByDigest = db.transaction((digests: readonly string[]): Array<KeyRecord | null> => digests.map((digest) => recordOrNull(keyByDigest.get(digest))));
    const readChanges = db.transaction((afterSeq: number, limit: number): ChangeBatch => {
      const events = eventsSince.all(afterSeq, limit);
      if (events.length === 0) return { events, records: [] };
      const records = [];
      for (const keyId of new Set(events.map((event) => event.keyId))) {
        const row = keyById.get(keyId);
        if (row !== undefined) records.push(recordFromRow(row));
      }
      return { events, records };
    });
    return {
      latestEventSeq: async () => latestEventSeq.get() ?? 0,
      async changesSince(afterSeq, limit) {
        checkEventLimit(limit);
        return readChanges.deferred(afterSeq, limit);
      },
      async recentlyUsedKeys(limit) {
        checkEventLimit(limit);
        return recentlyUsed.all(limit).map(recordFromRow);
      },
      async getKeysByDigest(digests) {
        return readKeysByDigest.deferred(digests);
      },
      async getKeyById(id) {
        return recordOrNull(keyById.get(id));
      },
      async getKeysByCertFingerprint(fingerprint) {
        return keysByCertFingerprint.all(fingerprint).map(recordFromRow);
      },
      close: () => db.close(),
    };
  } catch (error) {
    db.close();
    throw error;
  }
}
