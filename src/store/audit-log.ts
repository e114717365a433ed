/**
 * The audit log: an append-only, hash-chained record of every change made to keys and admin
 * tokens. Stores write an entry in the same transaction as the change it records (see
 * `KeyStore`), so no path can change a key without leaving an entry. The chain itself (how an
 * entry's hash is computed and checked) lives in `src/store/audit-chain.ts`, shared by
 * every store, so each store only runs SQL.
 */

/** Who made a change: recorded with every audit entry. */
export interface AuditActor {
  /** `cli` for the command-line tool, or the id of the admin token that authorised the call. */
  actor: string;
  /** The address the change came from (the admin client's); null for the CLI. */
  address: string | null;
  /**
   * The change set this change belongs to (`portcullis apply`, `keys import`: several changes
   * made as one), recorded as `changeSet` in the entry's details so they can be found together.
   */
  changeSet?: string;
}

/** The actor of every change made with the `portcullis` command-line tool. */
export const CLI_ACTOR: AuditActor = Object.freeze({ actor: 'cli', address: null });

type AuditAction =
  | 'key.created'
  | 'key.revoked'
  | 'key.rotated'
  | 'key.updated'
  | 'key.quarantined'
  | 'key.released'
  /** A finding of anomaly detection (src/policies/anomaly), with its evidence. */
  | 'key.anomaly'
  | 'admin_token.created'
  | 'admin_token.revoked'
  | 'token_signing_key.created'
  | 'token_signing_key.rotated'
  /** A delegated DPoP token revoked alone (its id is the target). */
  | 'token.revoked';

/** What a store is asked to append; it adds `seq`, `prevHash` and `hash`. */
export interface NewAuditEntry {
  at: number;
  actor: string;
  address: string | null;
  action: AuditAction;
  /** The id of the key or admin token the change was made to. */
  target: string;
  reason: string | null;
  /** JSON text (an object), stored and hashed exactly as given. */
  details: string;
}

/** One entry of the chain, as stored. */
export interface AuditEntry extends NewAuditEntry {
  /** 1, 2, 3…: consecutive, so a deleted entry leaves a gap. */
  seq: number;
  /** `hash` of the entry before (64 zeros for the first). */
  prevHash: string;
  /** SHA-256 of this entry's fields and `prevHash` (see audit-chain.ts). */
  hash: string;
}

/** The newest entry's seq and hash, kept apart from the entries so truncating the log shows. */
export interface AuditHead {
  seq: number;
  hash: string;
}

export interface AuditQuery {
  /** Only entries about this key or token id. */
  target?: string;
  /** Entries older than this seq (newest first paging). */
  before?: number;
  /** Page size; implementations cap it at 1000 (default 100). */
  limit?: number;
}

export interface AuditLog {
  /** Entries newest first, for people (CLI, admin API, dashboard). */
  listAuditEntries(query?: AuditQuery): Promise<AuditEntry[]>;
  /** Entries with `seq > afterSeq`, oldest first, at most `limit`: for verification. */
  auditEntriesSince(afterSeq: number, limit: number): Promise<AuditEntry[]>;
  auditHead(): Promise<AuditHead>;
}
