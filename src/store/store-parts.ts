import type { AdminTokenRecord, AdminTokenStore, NewAdminToken } from './admin-token-store.ts';
import type { AuditActor, AuditEntry, AuditHead, AuditLog, AuditQuery } from './audit-log.ts';
import type { UsageAddress, UsageMinute, UsagePoint, UsageRanking, UsageStep, UsageStore, UsageTotal } from './usage-store.ts';

/** The parts of a `Store` that live in their own modules (one set per dialect). */
export interface StoreParts {
  audit: AuditLog;
  adminTokens: AdminTokenStore;
  usage: UsageStore;
}

/**
 * The audit log, admin-token and usage methods of a `Store`, handed on to its parts. Each
 * store implementation (SQLite, PostgreSQL) extends this and adds the `KeyStore` methods.
 */
export abstract class StoreWithParts implements AuditLog, AdminTokenStore, UsageStore {
  readonly #parts: StoreParts;

  constructor(parts: StoreParts) {
    this.#parts = parts;
  }

  listAuditEntries(query?: AuditQuery): Promise<AuditEntry[]> {
    return this.#parts.audit.listAuditEntries(query);
  }

  auditEntriesSince(afterSeq: number, limit: number): Promise<AuditEntry[]> {
    return this.#parts.audit.auditEntriesSince(afterSeq, limit);
  }

  auditHead(): Promise<AuditHead> {
    return this.#parts.audit.auditHead();
  }

  createAdminToken(token: NewAdminToken, now: number, by: AuditActor): Promise<AdminTokenRecord> {
    return this.#parts.adminTokens.createAdminToken(token, now, by);
  }

  getAdminTokenByDigest(digest: string): Promise<AdminTokenRecord | null> {
    return this.#parts.adminTokens.getAdminTokenByDigest(digest);
  }

  getAdminTokenById(id: string): Promise<AdminTokenRecord | null> {
    return this.#parts.adminTokens.getAdminTokenById(id);
  }

  listAdminTokens(): Promise<AdminTokenRecord[]> {
    return this.#parts.adminTokens.listAdminTokens();
  }

  revokeAdminToken(id: string, now: number, by: AuditActor): Promise<AdminTokenRecord | null> {
    return this.#parts.adminTokens.revokeAdminToken(id, now, by);
  }

  recordUsageMinutes(batch: UsageMinute[]): Promise<void> {
    return this.#parts.usage.recordUsageMinutes(batch);
  }

  usageSeries(keyId: string, from: number, to: number): Promise<UsagePoint[]> {
    return this.#parts.usage.usageSeries(keyId, from, to);
  }

  usageAddresses(keyId: string, from: number, to: number, limit: number): Promise<UsageAddress[]> {
    return this.#parts.usage.usageAddresses(keyId, from, to, limit);
  }

  usageTotals(from: number, to: number, limit: number, by?: UsageRanking): Promise<UsageTotal[]> {
    return this.#parts.usage.usageTotals(from, to, limit, by);
  }

  usageSteps(from: number, to: number, step: number): Promise<UsageStep[]> {
    return this.#parts.usage.usageSteps(from, to, step);
  }

  usageKeyCount(from: number, to: number): Promise<number> {
    return this.#parts.usage.usageKeyCount(from, to);
  }

  purgeUsageBefore(minute: number): Promise<number> {
    return this.#parts.usage.purgeUsageBefore(minute);
  }
}
