import { randomBytes } from 'node:crypto';
import { closeSync, constants, existsSync, fchmodSync, fsyncSync, openSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { type AuditVerification, GENESIS_HASH, verifyAuditChain } from '../audit-chain.ts';
import type { AuditHead } from '../audit-log.ts';
import { latestSchemaVersion } from '../migrations/index.ts';
import { compareForRestore, type KeyState, type RestoreReport, type StoreHistory } from '../restore-report.ts';
import { SqliteAuditLog } from './sqlite-audit-log.ts';
import { openSqliteKeyStore } from './sqlite-key-store.ts';
import { preparePrivateDatabaseFile } from './private-database-file.ts';

/**
 * Backups of the embedded store, and restoring one, with SQLite's online backup API
 * (better-sqlite3's `db.backup()`): pages are copied under a read transaction of their own, so
 * a backup is consistent while gateways keep reading and writing the store, and a restore
 * writes through SQLite's locks, so a gateway that has the store open sees the restored
 * database as a whole (and, its change log now ending before its position, drops its caches).
 */

/** What a store file holds, in brief: printed by `store backup` and `store restore`. */
export interface StoreSummary {
  path: string;
  bytes: number;
  schemaVersion: number;
  keys: number;
  latestEventSeq: number;
  auditHead: AuditHead;
  /** The audit chain checked from end to end (null for a schema older than the audit log). */
  audit: AuditVerification | null;
}

/** What `restoreSqliteStore` found and did. */
export interface RestoreOutcome {
  backup: StoreSummary;
  /** The store that was (or would have been) replaced; null when there was none. */
  replaced: StoreSummary | null;
  report: RestoreReport | null;
  restored: StoreSummary | null;
  /** What the operator must do next, when a store was replaced. */
  nextSteps: string[];
}

/**
 * A gateway's change feed notices a log that went back only when it comes back from an
 * outage, so a gateway left running keeps the keys it cached from the replaced store (keys
 * created after the backup among them) and skips new changes until the log grows past where it
 * stood. It must be restarted.
 */
const RESTART_GATEWAYS = 'Restart every gateway that uses this store now: a running gateway does not notice that the store was replaced, keeps the keys it cached from it (keys created after the backup included) and misses key changes until the restored change log grows past its position.';

/** A restore that would replace an existing store, asked for without `force`: nothing was changed. */
export class RestoreRefused extends Error {
  override name = 'RestoreRefused';
  readonly outcome: RestoreOutcome;

  constructor(outcome: RestoreOutcome, message: string) {
    super(message);
    this.outcome = outcome;
  }
}

// One step copies every page: the whole copy is one read transaction of the source, so it is
// one consistent state (and is never restarted by a write between steps).
const ALL_PAGES = { progress: () => 0x7fffffff };

/**
 * Copies the store at `source` to a new file at `destination` (mode 0600; refused if it
 * exists, unless `overwrite`), consistent while gateways use the store. The copy is written
 * beside the destination and renamed into place once complete and synced, so a failed backup
 * never leaves a partial file under the destination's name. The copy is one self-contained
 * file (rollback journal, no `-wal`), checked with `integrity_check` and `audit verify`.
 *
 * @example
 * const summary = await backupSqliteStore('./data/portcullis.db', './backups/portcullis-2025-01-31.db');
 */
export async function backupSqliteStore(source: string, destination: string, options: { overwrite?: boolean } = {}): Promise<StoreSummary> {
  if (resolve(source) === resolve(destination)) throw new Error('The backup file cannot be the store itself');
  if (!options.overwrite && existsSync(destination)) throw new Error(`${destination} exists; give another file, or --force to replace it`);
  if (!existsSync(dirname(resolve(destination)))) throw new Error(`The folder ${dirname(resolve(destination))} does not exist`);
  const live = openExisting(source, false);
  const partial = join(dirname(resolve(destination)), `.${basename(destination)}.partial-${randomBytes(6).toString('hex')}`);
  try {
    readSchemaVersion(live, source);
    createPrivateFile(partial);
    await live.backup(partial, ALL_PAGES);
    const copy = new Database(partial, { fileMustExist: true });
    try {
      copy.pragma('journal_mode = DELETE');
      checkIntegrity(copy, 'The backup');
    } finally {
      copy.close();
    }
    syncFile(partial);
    renameSync(partial, destination);
    syncFile(dirname(resolve(destination)));
  } catch (error) {
    rmSync(partial, { force: true });
    throw error;
  } finally {
    live.close();
  }
  return summarise(destination);
}

/**
 * Restores the backup at `backup` into `target`. The backup is checked first (a Portcullis
 * store of a schema this version can read, `integrity_check`, an intact audit chain). When a
 * store exists at `target`, it is compared with the backup (see restore-report.ts), and it is
 * replaced only with `force`; otherwise `RestoreRefused` carries the comparison and nothing is
 * changed. The restored store is then migrated to the current schema and its chain checked.
 */
export async function restoreSqliteStore(backup: string, target: string, options: { force: boolean; now?: number }): Promise<RestoreOutcome> {
  if (resolve(backup) === resolve(target)) throw new Error('The backup file is the store itself: nothing to restore');
  const backupSummary = await summarise(backup);
  if (backupSummary.audit !== null && !backupSummary.audit.ok) {
    throw new Error(`The backup's audit log does not verify (${backupSummary.audit.problem}); it was changed after it was written. Not restored.`);
  }
  const exists = existsSync(target) && statSync(target).size > 0;
  const replaced = exists ? await summarise(target) : null;
  const report = exists ? await compare(target, backup, options.now ?? Date.now()) : null;
  const outcome: RestoreOutcome = { backup: backupSummary, replaced, report, restored: null, nextSteps: [] };
  if (exists && !options.force) throw new RestoreRefused(outcome, `${target} is an existing key store; restoring replaces it. Run again with --force to replace it.`);
  if (!exists) preparePrivateDatabaseFile(target);
  const source = openExisting(backup, true);
  try {
    await source.backup(target, ALL_PAGES);
  } finally {
    source.close();
  }
  // Brings a backup of an older schema up to date, as any open does.
  await (await openSqliteKeyStore(target)).close();
  outcome.restored = await summarise(target);
  if (exists) outcome.nextSteps.push(RESTART_GATEWAYS);
  if (report !== null && report.reactivated.length > 0) outcome.nextSteps.push(`Revoke again the ${report.reactivated.length} keys this restore made valid (listed in the report).`);
  return outcome;
}

/** A summary of a store file, read without changing it. */
async function summarise(path: string): Promise<StoreSummary> {
  const db = openExisting(path, true);
  try {
    const schemaVersion = readSchemaVersion(db, path);
    checkIntegrity(db, path);
    const history = readHistory(db);
    const audit = hasTable(db, 'audit_log') ? await verifyAuditChain(new SqliteAuditLog(db)) : null;
    return { path, bytes: statSync(path).size, schemaVersion, keys: history.keys.length, latestEventSeq: history.latestEventSeq, auditHead: history.auditHead, audit };
  } finally {
    db.close();
  }
}

async function compare(currentPath: string, backupPath: string, now: number): Promise<RestoreReport> {
  const [current, backup] = [openExisting(currentPath, true), openExisting(backupPath, true)];
  try {
    const backupHistory = readHistory(backup);
    const hashAtBackupHead = hasTable(current, 'audit_log')
      ? (current.prepare<[number], string>('SELECT hash FROM audit_log WHERE seq = ?').pluck().get(backupHistory.auditHead.seq) ?? null)
      : null;
    return compareForRestore(readHistory(current), backupHistory, hashAtBackupHead, now);
  } finally {
    current.close();
    backup.close();
  }
}

function readHistory(db: Database.Database): StoreHistory {
  const keys = db.prepare<[], KeyState>('SELECT id, name, expires_at AS expiresAt, revoked_at AS revokedAt, revoked_reason AS revokedReason FROM api_keys ORDER BY id').all();
  const latestEventSeq = db.prepare<[], number>('SELECT coalesce(max(seq), 0) FROM key_events').pluck().get() ?? 0;
  const auditHead = hasTable(db, 'audit_head') ? db.prepare<[], AuditHead>('SELECT seq, hash FROM audit_head WHERE id = 1').get() : undefined;
  return { keys, latestEventSeq, auditHead: auditHead ?? { seq: 0, hash: GENESIS_HASH } };
}

/** Opens a file that must already be a database; `readOnly` for files that must not change. */
function openExisting(path: string, readOnly: boolean): Database.Database {
  if (!existsSync(path)) throw new Error(`No key store at ${path}`);
  const db = new Database(path, { fileMustExist: true, readonly: readOnly, timeout: 5000 });
  db.pragma('busy_timeout = 5000');
  return db;
}

function readSchemaVersion(db: Database.Database, path: string): number {
  if (!hasTable(db, 'schema_migrations') || !hasTable(db, 'api_keys')) throw new Error(`${path} is not a Portcullis key store`);
  const version = db.prepare<[], number>('SELECT coalesce(max(version), 0) FROM schema_migrations').pluck().get() ?? 0;
  if (version > latestSchemaVersion) throw new Error(`${path} has schema version ${version}, newer than this Portcullis supports (${latestSchemaVersion}); upgrade Portcullis to restore it`);
  return version;
}

function hasTable(db: Database.Database, name: string): boolean {
  return db.prepare<[string], number>("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?").pluck().get(name) !== undefined;
}

function checkIntegrity(db: Database.Database, what: string): void {
  const problems = db.prepare<[], string>('PRAGMA integrity_check').pluck().all();
  if (problems.length !== 1 || problems[0] !== 'ok') throw new Error(`${what} is damaged (integrity_check: ${problems.slice(0, 3).join('; ')})`);
}

/** An empty file only its owner can read: the backup holds key digests and client metadata. */
function createPrivateFile(path: string): void {
  const descriptor = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
  try {
    fchmodSync(descriptor, 0o600);
  } finally {
    closeSync(descriptor);
  }
}

function syncFile(path: string): void {
  const descriptor = openSync(path, constants.O_RDONLY);
  try {
    fsyncSync(descriptor);
  } finally {
    closeSync(descriptor);
  }
}
