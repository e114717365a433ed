import type { Logger } from 'pino';
import type { KeyProfiles } from '../../limits/anomaly/key-profiles.ts';
import type { AnomalyFinding, AnomalyStore, KeyProfileQuery, KeyProfileWrite } from '../../store/anomaly-store.ts';
import { REFUSALS_BEFORE_DROP, storeRefusedWrite } from '../../store/store-errors.ts';

export interface AnomalyRecorderOptions {
  profiles: KeyProfiles;
  /** The store write thread (or, in tests, anything with its methods). */
  writes: AnomalyStore;
  logger: Logger;
  /** How many profiles to read at start, and networks (and, with `anomaly.countries`, countries) per profile. */
  load: KeyProfileQuery;
  /** A store failure that may repeat at every flush (logged rate-limited by the caller). */
  onStoreError(error: unknown): void;
}

/**
 * Everything anomaly detection writes, off the request path. A finding is queued and sent to
 * the store write thread on the next turn of the event loop (the request that brought it only
 * pushes it on a list); the profiles that changed go every `flushInterval`, and at close. A
 * batch the store could not take is kept and sent again; one the store refused
 * `REFUSALS_BEFORE_DROP` times is dropped and logged.
 */
export class AnomalyRecorder {
  readonly #options: AnomalyRecorderOptions;
  #findings: AnomalyFinding[] = [];
  #findingRefusals = 0;
  #sending: Promise<void> | null = null;
  #scheduled = false;
  #unwritten: KeyProfileWrite[] = [];
  #profileRefusals = 0;
  #timer: NodeJS.Timeout | undefined;
  #loading: Promise<void> | null = null;

  constructor(options: AnomalyRecorderOptions) {
    this.#options = options;
  }

  /** Reads the stored profiles (not waited for: until they come, keys learn afresh and merge with them). */
  start(flushInterval: number): void {
    const { writes, profiles, load, logger } = this.#options;
    this.#loading = writes.loadKeyProfiles(load).then(
      (stored) => {
        profiles.restore(stored);
        logger.debug({ profiles: stored.length }, 'anomaly profiles loaded');
      },
      (error: unknown) => logger.warn({ err: error }, 'anomaly profiles could not be read from the key store; keys learn again from now'),
    );
    this.#timer = setInterval(() => void this.flushProfiles(), flushInterval);
    this.#timer.unref();
  }

  /** Queues a finding; it is sent once the request that brought it has moved on. */
  report(finding: AnomalyFinding): void {
    this.#findings.push(finding);
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      void this.sendFindings();
    });
  }

  /** Sends the queued findings (one batch at a time). */
  sendFindings(): Promise<void> {
    if (this.#sending !== null) return this.#sending.then(() => (this.#findings.length > 0 ? this.sendFindings() : undefined));
    if (this.#findings.length === 0) return Promise.resolve();
    const batch = this.#findings;
    this.#findings = [];
    this.#sending = this.#writeFindings(batch).finally(() => (this.#sending = null));
    return this.#sending;
  }

  async #writeFindings(batch: AnomalyFinding[]): Promise<void> {
    const { writes, logger } = this.#options;
    try {
      const results = await writes.recordAnomalyFindings(batch);
      this.#findingRefusals = 0;
      results.forEach((result, index) => {
        const finding = batch[index] as AnomalyFinding;
        if (result.recorded) logger.warn({ keyId: finding.keyId, kind: finding.kind, action: finding.action, evidence: finding.evidence }, `anomaly: ${finding.kind.replace('_', ' ')} on key ${finding.keyId} (${finding.action})`);
      });
    } catch (error) {
      this.#options.onStoreError(error);
      if (storeRefusedWrite(error) && ++this.#findingRefusals >= REFUSALS_BEFORE_DROP) {
        this.#findingRefusals = 0;
        logger.error({ err: error, findings: batch.map(({ keyId, kind }) => ({ keyId, kind })) }, `anomaly findings dropped: the key store refused them ${REFUSALS_BEFORE_DROP} times`);
        return;
      }
      // Kept for the next flush, before any found since.
      this.#findings = batch.concat(this.#findings);
    }
  }

  /** Writes the profiles that changed since the last flush (and findings still queued). */
  async flushProfiles(): Promise<void> {
    await this.sendFindings();
    const batch = mergeProfileWrites(this.#unwritten, this.#options.profiles.takeChanged());
    this.#unwritten = [];
    if (batch.length === 0) return;
    try {
      await this.#options.writes.recordKeyProfiles(batch);
      this.#profileRefusals = 0;
    } catch (error) {
      this.#options.onStoreError(error);
      if (storeRefusedWrite(error) && ++this.#profileRefusals >= REFUSALS_BEFORE_DROP) {
        this.#profileRefusals = 0;
        this.#options.logger.error({ err: error, profiles: batch.length }, `anomaly profiles dropped: the key store refused them ${REFUSALS_BEFORE_DROP} times`);
        return;
      }
      this.#unwritten = batch;
    }
  }

  /** Stops the timer and writes what is left. */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.#loading;
    await this.flushProfiles();
  }
}

/** Earlier unwritten writes and newer ones, one per key: the newer values, the networks of both. */
function mergeProfileWrites(earlier: readonly KeyProfileWrite[], newer: readonly KeyProfileWrite[]): KeyProfileWrite[] {
  if (earlier.length === 0) return [...newer];
  const merged = new Map<string, KeyProfileWrite>(earlier.map((write) => [write.keyId, write]));
  for (const write of newer) {
    const before = merged.get(write.keyId);
    if (before === undefined) {
      merged.set(write.keyId, write);
      continue;
    }
    const networks = new Map(before.networks.map((seen) => [seen.network, seen.lastSeen]));
    for (const seen of write.networks) networks.set(seen.network, Math.max(seen.lastSeen, networks.get(seen.network) ?? 0));
    merged.set(write.keyId, { ...write, firstSeen: Math.min(before.firstSeen, write.firstSeen), networks: [...networks].map(([network, lastSeen]) => ({ network, lastSeen })) });
  }
  return [...merged.values()];
}
