import type { AdminTokenRecord, AdminTokenStore, NewAdminToken } from './admin-token-store.ts';
import type { AnomalyFinding, AnomalyFindingResult, AnomalyStore, AnomalyTables, KeyProfileQuery, KeyProfileWrite, StoredKeyProfile } from './anomaly-store.ts';
import { ANOMALY_ACTOR } from './anomaly-store.ts';
import type { AuditActor, AuditEntry, AuditHead, AuditLog, AuditQuery } from './audit-log.ts';
import type { KeyRecord } from '../keys/key-record.ts';
import type { AuditEvidence } from './key-store.ts';
import type { NodeHeartbeat, NodeHeartbeatStore } from './node-heartbeats.ts';
import type { RevokedTokenRecord, RevokedTokenStore } from './revoked-token-store.ts';
import type { NewTokenSigningKey, TokenSigningKeyRecord, TokenSigningKeyStore } from './token-signing-key-store.ts';
import type { ApiUsageMinute, ApiUsageStep, UsageAddress, UsageMinute, UsagePoint, UsageRanking, UsageStep, UsageStore, UsageTotal, WebSocketMinute, WouldDenyMinute, WouldDenyTotal } from './usage-store.ts';

/** The parts of a `Store` that live in their own modules (one set per dialect). */
export interface StoreParts {
  anomaly: AnomalyTables;
  audit: AuditLog;
  adminTokens: AdminTokenStore;
  usage: UsageStore;
  nodes: NodeHeartbeatStore;
  signingKeys: TokenSigningKeyStore;
  revokedTokens: RevokedTokenStore;
}

/**
 * The audit log, admin-token and usage methods of a `Store`, handed on to its parts. Each
 * store implementation (SQLite, PostgreSQL) extends this and adds the `KeyStore` methods.
 */
export abstract class StoreWithParts implements AnomalyStore, AuditLog, AdminTokenStore, UsageStore, TokenSigningKeyStore, RevokedTokenStore, NodeHeartbeatStore {
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

  recordWouldDenyMinutes(batch: WouldDenyMinute[]): Promise<void> {
    return this.#parts.usage.recordWouldDenyMinutes(batch);
  }

  wouldDenyTotals(from: number, to: number, limit: number): Promise<WouldDenyTotal[]> {
    return this.#parts.usage.wouldDenyTotals(from, to, limit);
  }

  recordApiUsageMinutes(batch: ApiUsageMinute[]): Promise<void> {
    return this.#parts.usage.recordApiUsageMinutes(batch);
  }

  apiUsageSteps(from: number, to: number, step: number): Promise<ApiUsageStep[]> {
    return this.#parts.usage.apiUsageSteps(from, to, step);
  }

  webSocketSeries(keyId: string, from: number, to: number): Promise<WebSocketMinute[]> {
    return this.#parts.usage.webSocketSeries(keyId, from, to);
  }

  purgeUsageBefore(minute: number): Promise<number> {
    return this.#parts.usage.purgeUsageBefore(minute);
  }

  writeNodeHeartbeat(heartbeat: NodeHeartbeat): Promise<void> {
    return this.#parts.nodes.writeNodeHeartbeat(heartbeat);
  }

  listNodeHeartbeats(): Promise<NodeHeartbeat[]> {
    return this.#parts.nodes.listNodeHeartbeats();
  }

  pruneNodeHeartbeats(before: number): Promise<number> {
    return this.#parts.nodes.pruneNodeHeartbeats(before);
  }

  listTokenSigningKeys(now: number): Promise<TokenSigningKeyRecord[]> {
    return this.#parts.signingKeys.listTokenSigningKeys(now);
  }

  createTokenSigningKey(key: NewTokenSigningKey, now: number, by: AuditActor): Promise<boolean> {
    return this.#parts.signingKeys.createTokenSigningKey(key, now, by);
  }

  rotateTokenSigningKey(key: NewTokenSigningKey, overlapMs: number, now: number, by: AuditActor): Promise<string | null> {
    return this.#parts.signingKeys.rotateTokenSigningKey(key, overlapMs, now, by);
  }

  revokeToken(tokenId: string, keyId: string, expiresAt: number, reason: string | null, now: number, by: AuditActor): Promise<boolean> {
    return this.#parts.revokedTokens.revokeToken(tokenId, keyId, expiresAt, reason, now, by);
  }

  revokedTokensSince(fromRevokedAt: number, now: number): Promise<RevokedTokenRecord[]> {
    return this.#parts.revokedTokens.revokedTokensSince(fromRevokedAt, now);
  }

  purgeRevokedTokens(now: number): Promise<number> {
    return this.#parts.revokedTokens.purgeRevokedTokens(now);
  }

  // Each store's own key changes, for the actions of anomaly findings.
  abstract quarantineKey(id: string, reason: string, now: number, by: AuditActor, evidence?: AuditEvidence): Promise<KeyRecord | null>;
  abstract revokeKey(id: string, reason: string | null, now: number, by: AuditActor, evidence?: AuditEvidence): Promise<KeyRecord | null>;

  recordKeyProfiles(batch: KeyProfileWrite[]): Promise<void> {
    return this.#parts.anomaly.recordKeyProfiles(batch);
  }

  loadKeyProfiles(query: KeyProfileQuery): Promise<StoredKeyProfile[]> {
    return this.#parts.anomaly.loadKeyProfiles(query);
  }

  /**
   * Each finding's row and `key.anomaly` entry (one transaction), then, only when this call
   * recorded it, its action: so of several nodes that make the same finding, one acts.
   */
  async recordAnomalyFindings(batch: AnomalyFinding[]): Promise<AnomalyFindingResult[]> {
    const results: AnomalyFindingResult[] = [];
    for (const finding of batch) {
      const recorded = await this.#parts.anomaly.insertAnomalyFinding(finding);
      if (recorded && finding.action !== 'notify') {
        const reason = `anomaly detected: ${finding.kind.replace('_', ' ')}`;
        const evidence = { anomaly: finding.kind, ...Object.fromEntries(Object.entries(finding.evidence).map(([name, value]) => [name, String(value)])) };
        if (finding.action === 'revoke') await this.revokeKey(finding.keyId, reason, finding.at, ANOMALY_ACTOR, evidence);
        else await this.quarantineKey(finding.keyId, reason, finding.at, ANOMALY_ACTOR, evidence);
      }
      results.push({ keyId: finding.keyId, kind: finding.kind, windowStart: finding.windowStart, recorded });
    }
    return results;
  }
}
