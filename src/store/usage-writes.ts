import type { AnomalyStore } from './anomaly-store.ts';
import type { KeyStore } from './key-store.ts';
import type { NodeHeartbeatStore } from './node-heartbeats.ts';
import type { UsageStore } from './usage-store.ts';

/**
 * What a gateway node asks of the store for the counts it keeps in memory: usage minutes, would-denies and per-API counts,
 * last uses and quota counts written in batches, old minutes purged, and a key's quota
 * counter read once. A `Store` provides it on the calling thread; the store write thread
 * (`write-thread/store-write-thread.ts`) provides it from a worker with its own connection.
 */
export type UsageWrites = Pick<KeyStore & UsageStore, 'recordUsage' | 'recordUsageMinutes' | 'recordWouldDenyMinutes' | 'recordApiUsageMinutes' | 'purgeUsageBefore' | 'addQuotaUsage' | 'getQuotaUsage'>;

/** The methods of `UsageWrites`, by name (the write thread's messages name one). */
const USAGE_WRITE_METHODS = ['recordUsage', 'recordUsageMinutes', 'recordWouldDenyMinutes', 'recordApiUsageMinutes', 'purgeUsageBefore', 'addQuotaUsage', 'getQuotaUsage'] as const satisfies ReadonlyArray<keyof UsageWrites>;

/** What the store write thread serves: `UsageWrites`, this node's heartbeat with long-gone nodes' rows pruned, and anomaly profiles and findings. */
export type StoreWrites = UsageWrites & Pick<NodeHeartbeatStore, 'writeNodeHeartbeat' | 'pruneNodeHeartbeats'> & AnomalyStore;

/** The methods of `StoreWrites`, by name. */
export const STORE_WRITE_METHODS = [...USAGE_WRITE_METHODS, 'writeNodeHeartbeat', 'pruneNodeHeartbeats', 'recordKeyProfiles', 'loadKeyProfiles', 'recordAnomalyFindings'] as const satisfies ReadonlyArray<keyof StoreWrites>;
