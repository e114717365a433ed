import { BoundedMap } from './bounded-map.ts';

/**
 * Remembers, for keys that recently matched a record, which digest they have, so a repeat
 * request with the same key skips the format check and the SHA-256 (together most of what
 * authenticating a known key costs). The digest is then looked up in the verifier as usual, so
 * a revocation, expiry or edit applies exactly as it does without the memo.
 *
 * What it holds is plaintext keys, in this process's memory only: never written, logged or
 * sent anywhere, bounded (`cache.maxVerifiedKeys`, 0 turns it off), and filled only with keys
 * that parsed and matched a record, so a flood of made-up keys never reaches it. The same keys
 * pass through the process's memory in every request anyway; the memo keeps recent ones for
 * longer. docs/security.md has the trade-off.
 */
export class VerifiedKeyMemo {
  readonly #digests: BoundedMap<string, string>;
  /** The longest key remembered: a longer value (up to a whole header) is not even hashed for the lookup. */
  #longest = 0;

  constructor(capacity: number) {
    this.#digests = new BoundedMap(capacity);
  }

  /** The digest of a key that matched a record before; undefined when it is not remembered. */
  digestOf(presentedKey: string): string | undefined {
    return presentedKey.length > this.#longest ? undefined : this.#digests.get(presentedKey);
  }

  /**
   * Remembers a key that matched a record. `recordDigest` is the record's own string: its hash
   * is already computed, so the verifier's map lookup with it is cheaper than with a fresh one.
   */
  remember(presentedKey: string, recordDigest: string): void {
    this.#digests.set(presentedKey, recordDigest);
    if (presentedKey.length > this.#longest) this.#longest = presentedKey.length;
  }

  get size(): number {
    return this.#digests.size;
  }
}
