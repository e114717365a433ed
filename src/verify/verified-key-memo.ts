import { BoundedMap } from './bounded-map.ts';
import type { CachedKey } from './key-verifier.ts';

/**
 * Remembers, for keys that recently matched a record, the cached key they matched, so a repeat
 * request with the same key skips the format check and the SHA-256 (together most of what
 * authenticating a known key costs). The verifier then confirms it is still its current entry
 * for that digest (`KeyVerifier.current`) or looks the digest up again, so a revocation, expiry
 * or edit applies exactly as it does without the memo.
 *
 * What it holds is plaintext keys, in this process's memory only: never written, logged or
 * sent anywhere, bounded (`cache.maxVerifiedKeys`, 0 turns it off), and filled only with keys
 * that parsed and matched a record, so a flood of made-up keys never reaches it. The same keys
 * pass through the process's memory in every request anyway; the memo keeps recent ones for
 * longer. docs/security.md has the trade-off.
 */
export class VerifiedKeyMemo {
  readonly #keys: BoundedMap<string, CachedKey>;
  /** The longest key remembered: a longer value (up to a whole header) is not even hashed for the lookup. */
  #longest = 0;

  constructor(capacity: number) {
    this.#keys = new BoundedMap(capacity);
  }

  /** The cached key a presented key matched before; undefined when it is not remembered. */
  keyOf(presentedKey: string): CachedKey | undefined {
    return presentedKey.length > this.#longest ? undefined : this.#keys.get(presentedKey);
  }

  /** Remembers the cached key whose record's digest is the presented key's. */
  remember(presentedKey: string, key: CachedKey): void {
    this.#keys.set(presentedKey, key);
    if (presentedKey.length > this.#longest) this.#longest = presentedKey.length;
  }

  get size(): number {
    return this.#keys.size;
  }
}
