/**
 * Replay caches shared by every gateway node through a store that can claim a name once
 * (Redis `SET name 1 NX PX ttl`), on top of the node's own bounded cache.
 *
 * Each check runs the local cache first (synchronous, no round trip): a replay on the same
 * node is refused there. A first use on this node is then claimed in the shared store in one
 * round trip; if another node claimed it first, it is a replay. The name is the SHA-256 of
 * the cache key under a namespace, so no client-chosen text reaches Redis.
 *
 * While the shared store does not answer (unreachable, or slower than its command timeout),
 * the local verdict stands: every proof is still accepted at most once per node, and the
 * gap (a proof replayed on another node within its window) is counted and reported through
 * `onDegraded`, never silent. This keeps a Redis outage from taking the gateway down, which
 * refusing every proof would do. See docs/security.md, "Replay caches shared through Redis".
 */
import { createHash } from 'node:crypto';

/**
 * Claims `name` for `ttlMs` on every node at once: true when this is the first claim, false
 * when it was claimed before; null (now or once the promise settles) when the shared store
 * cannot answer.
 */
export type ClaimOnce = (name: string, ttlMs: number) => Promise<boolean | null> | null;

/** How long past its local expiry a shared entry is kept: covers nodes whose clocks lag by up to this much. */
export const SHARED_CLOCK_SLACK_MS = 5000;

export interface SharedReplayOptions {
  readonly claim: ClaimOnce;
  /** Prefix of the shared names, such as `dpop:jti:`. */
  readonly namespace: string;
  /** Called on every check decided by the local cache alone because the shared store did not answer. */
  readonly onDegraded: () => void;
}

/** Counts the checks the shared store did not answer (the local verdict was used). */
export class SharedReplayClaims {
  readonly #options: SharedReplayOptions;
  #degraded = 0;

  constructor(options: SharedReplayOptions) {
    this.#options = options;
  }

  /** Checks decided locally because the shared store did not answer, since the start. */
  get degraded(): number {
    return this.#degraded;
  }

  /**
   * Claims `key` (already accepted by the local cache) until `expiresAt`: `fresh` when no node
   * claimed it before, `replayed` when one did; `fresh` (counted as degraded) when the shared
   * store does not answer.
   */
  claim(key: string, expiresAt: number, now: number): Promise<'fresh' | 'replayed'> | 'fresh' {
    const name = this.#options.namespace + createHash('sha256').update(key, 'utf8').digest('base64url');
    const claimed = this.#options.claim(name, Math.max(1, Math.ceil(expiresAt - now)) + SHARED_CLOCK_SLACK_MS);
    if (claimed === null) return this.#degrade();
    return claimed.then(
      (first) => (first === null ? this.#degrade() : first ? 'fresh' : 'replayed'),
      () => this.#degrade(),
    );
  }

  #degrade(): 'fresh' {
    this.#degraded++;
    this.#options.onDegraded();
    return 'fresh';
  }
}
