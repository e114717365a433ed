import type { AdminTokenStore } from './admin-token-store.ts';
import type { AnomalyStore } from './anomaly-store.ts';
import type { AuditLog } from './audit-log.ts';
import type { KeyStore } from './key-store.ts';
import type { NodeHeartbeatStore } from './node-heartbeats.ts';
import type { RevokedTokenStore } from './revoked-token-store.ts';
import type { TokenSigningKeyStore } from './token-signing-key-store.ts';
import type { UsageStore } from './usage-store.ts';

/**
 * Everything a Portcullis store holds, as one type: keys and their change log, the audit log,
 * admin tokens and usage. Each part is its own interface with its own shared test suite
 * (test/support/*-suite.ts), and every store implementation provides all of them.
 */
export interface Store extends KeyStore, AnomalyStore, AuditLog, AdminTokenStore, UsageStore, TokenSigningKeyStore, RevokedTokenStore, NodeHeartbeatStore {}
