import type { KeyStore } from './key-store.ts';
import type { UsageStore } from './usage-store.ts';

/**
 * What a gateway node asks of the store for the counts it keeps in memory: usage minutes,
 * last uses and quota counts written in batches, old minutes purged, and a key's quota
 * counter read once. A `Store` provides it on the calling thread; the store write thread
 * (`write-thread/store-write-thread.ts`) provides it from a worker with its own connection.
 */
export type UsageWrites = Pick<KeyStore & UsageStore, 'recordUsage' | 'recordUsageMinutes' | 'purgeUsageBefore' | 'addQuotaUsage' | 'getQuotaUsage'>;

/** The methods of `UsageWrites`, by name (the write thread's messages name one). */
export const USAGE_WRITE_METHODS = ['recordUsage', 'recordUsageMinutes', 'purgeUsageBefore', 'addQuotaUsage', 'getQuotaUsage'] as const satisfies ReadonlyArray<keyof UsageWrites>;
