import type { KeyRecord } from '../keys/key-record.ts';
import type { KeyLookups } from '../store/change-feed-reads.ts';
import { BoundedMap, type BoundedMapSlot } from './bounded-map.ts';
import type { UsageBucketHolder } from '../telemetry/usage-recorder.ts';

/** A key record as the gateway uses it, with what the proxy adds to forwarded requests precomputed. */
export interface CachedKey extends UsageBucketHolder {
  record: KeyRecord;
  /** Value of `X-Portcullis-Key-Name`: the name, percent-encoded when it is not visible ASCII. */
  nameHeaderValue: string;
  /** Its entry in the key cache, or null when it was never cached (see `KeyVerifier.current`). */
  cacheSlot: BoundedMapSlot<CachedKey> | null;
}

export interface KeyVerifierOptions {
  maxKeys: number;
  maxUnknown: number;
  /**
   * How long cached answers stay usable after the change feed last reached the store
   * (`changeFeed.staleFor`). Unbounded when absent (unit tests without a feed).
   */
  staleFor?: number;
}

const VISIBLE_ASCII = /^[\x20-\x7e]*$/;

function toCachedKey(record: KeyRecord): CachedKey {
  return { record, nameHeaderValue: VISIBLE_ASCII.test(record.name) ? record.name : encodeURIComponent(record.name), usageBucket: null, cacheSlot: null };
}

/**
 * Answers "which key record has this digest?" from memory. A known key costs one map lookup;
 * an unknown digest is read from the store once and then remembered in a bounded negative cache.
 * The change-feed follower keeps both caches exact by calling `applyChange` for every event,
 * and says when it last reached the store (`markSynchronised`) and when it could not
 * (`markUnreachable`): past `freshUntil`, a cached answer may be out of date, and the key-auth
 * check stops trusting it (fail closed); while the store is unreachable, it does not trust a
 * remembered "unknown" either (`storeReachable`).
 */
export class KeyVerifier {
  readonly #store: KeyLookups;
  readonly #known: BoundedMap<string, CachedKey>;
  readonly #unknown: BoundedMap<string, true>;
  /** Client-certificate fingerprint → the keys bound to it (possibly none), for certificate identity. */
  readonly #byCertificate: BoundedMap<string, readonly CachedKey[]>;
  /** Key id → digest, for `lookupById`. A key's id and digest never change, so no change from the feed makes an entry stale. */
  readonly #digestById: BoundedMap<string, string>;
  /** Bumped whenever the feed applies a change; a store read that spans a bump is not cached. */
  #generation = 0;
  #hits = 0;
  #misses = 0;
  readonly #staleFor: number;
  readonly #capacity: number;
  /**
   * Until when cached answers may be trusted: the change feed's last contact with the store
   * plus `staleFor`. With a bound, nothing is trusted before the first contact (fail closed).
   */
  #freshUntil: number;
  /** False from `markUnreachable` until the next `markSynchronised`. */
  #storeReachable = true;

  /** `store`: where misses are read (on SQLite, the change feed thread: src/app/gateway.ts). */
  constructor(store: KeyLookups, options: KeyVerifierOptions) {
    this.#store = store;
    this.#known = new BoundedMap(options.maxKeys);
    this.#capacity = options.maxKeys;
    this.#unknown = new BoundedMap(options.maxUnknown);
    this.#byCertificate = new BoundedMap(Math.max(1, options.maxUnknown));
    this.#digestById = new BoundedMap(options.maxKeys);
    this.#staleFor = options.staleFor ?? Number.POSITIVE_INFINITY;
    this.#freshUntil = this.#staleFor === Number.POSITIVE_INFINITY ? Number.POSITIVE_INFINITY : Number.NEGATIVE_INFINITY;
  }

  /**
   * The keys bound to a client-certificate fingerprint, newest first, or a promise when the
   * store must be asked. Any change from the feed empties this cache (changes are rare and a
   * record's binding may have changed), so it never serves a stale binding.
   */
  lookupByCertificate(fingerprint: string): readonly CachedKey[] | Promise<readonly CachedKey[]> {
    const cached = this.#byCertificate.get(fingerprint);
    if (cached !== undefined) return cached;
    return this.#readCertificateThrough(fingerprint);
  }

  async #readCertificateThrough(fingerprint: string): Promise<readonly CachedKey[]> {
    const generation = this.#generation;
    const keys = (await this.#store.getKeysByCertFingerprint(fingerprint)).map(toCachedKey);
    if (generation === this.#generation) this.#byCertificate.set(fingerprint, keys);
    return keys;
  }

  get freshUntil(): number {
    return this.#freshUntil;
  }

  /**
   * The change feed read the store completely at `at` (it saw every event up to then), so
   * the caches are exact as of that time and may be trusted for `staleFor` after it.
   */
  markSynchronised(at: number): void {
    this.#freshUntil = Math.max(this.#freshUntil, at + this.#staleFor);
    this.#storeReachable = true;
  }

  /**
   * The change feed cannot reach the store (a read failed, or has not completed in time).
   * Known answers stay usable until `freshUntil`; but "no key has this digest" may already be
   * wrong (the key may have been created since), and a node that cannot look it up must say so
   * (503) rather than call the key invalid.
   */
  markUnreachable(): void {
    this.#storeReachable = false;
  }

  /** Whether the change feed reaches the store: false from `markUnreachable` until the next complete read. */
  get storeReachable(): boolean {
    return this.#storeReachable;
  }

  /**
   * `lookup(key.record.digest)` for a key this verifier returned before (the verified-key memo
   * keeps them), without the map lookup while `key` is still the cache's entry for its digest:
   * a change from the feed puts a new object in that entry, and eviction or `clear()` removes
   * it, so an answer from here is exactly what `lookup` would give.
   */
  current(key: CachedKey): CachedKey | null | Promise<CachedKey | null> {
    const slot = key.cacheSlot;
    if (slot !== null && !slot.removed && slot.value === key) {
      slot.used = true;
      this.#hits++;
      return key;
    }
    return this.lookup(key.record.digest);
  }

  /** The cached key for a digest, null when no key has it, or a promise when the store must be asked. */
  lookup(digest: string): CachedKey | null | Promise<CachedKey | null> {
    const cached = this.#known.get(digest);
    if (cached !== undefined) {
      this.#hits++;
      return cached;
    }
    if (this.#unknown.has(digest)) {
      this.#hits++;
      return null;
    }
    this.#misses++;
    return this.#readThrough(digest);
  }

  /**
   * `lookup` of the key with this id (a delegated token names its parent key by id): the
   * answer comes from the same cache the change feed keeps exact, so a revocation reaches a
   * key found by id exactly as it reaches one presented itself. Only the id's digest is read
   * from the store, once.
   */
  lookupById(id: string): CachedKey | null | Promise<CachedKey | null> {
    const digest = this.#digestById.get(id);
    return digest === undefined ? this.#readIdThrough(id) : this.lookup(digest);
  }

  async #readIdThrough(id: string): Promise<CachedKey | null> {
    const record = await this.#store.getKeyById(id);
    if (record === null) return null;
    this.#digestById.set(id, record.digest);
    return this.lookup(record.digest);
  }

  async #readThrough(digest: string): Promise<CachedKey | null> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const generation = this.#generation;
      const record = await this.#store.getKeyByDigest(digest);
      if (generation !== this.#generation) continue; // a change landed meanwhile: read again
      if (record === null) {
        this.#unknown.set(digest, true);
        return null;
      }
      return this.#cache(toCachedKey(record));
    }
    // The feed is very busy; answer from a fresh read without caching it.
    const record = await this.#store.getKeyByDigest(digest);
    return record === null ? null : toCachedKey(record);
  }

  /** Bumped by every change the feed applies and by `clear()`: hand it to `warm` with records read after taking it. */
  get generation(): number {
    return this.#generation;
  }

  /**
   * Caches records read from the store since `readAtGeneration` was taken (a starting gateway's
   * most recently used keys), so their first requests are answered from memory. Exact like a
   * read-through: if the feed applied a change (or the cache was cleared) since, the records
   * may be older than what the feed knows and none is kept. Fills free room only, never
   * evicting a key requests brought in, and leaves keys already cached alone. Returns how many
   * it cached.
   */
  warm(records: readonly KeyRecord[], readAtGeneration: number): number {
    if (readAtGeneration !== this.#generation) return 0;
    let cached = 0;
    for (const record of records) {
      if (this.#known.size >= this.#capacity) break;
      if (this.#known.has(record.digest)) continue;
      this.#cache(toCachedKey(record));
      this.#unknown.delete(record.digest);
      cached++;
    }
    return cached;
  }

  /** Applies a changed record from the change feed (revocation, rotation, edit, creation). */
  applyChange(record: KeyRecord): void {
    this.#generation++;
    this.#unknown.delete(record.digest);
    if (this.#known.has(record.digest)) this.#cache(toCachedKey(record));
    if (this.#byCertificate.size > 0) this.#byCertificate.clear();
  }

  #cache(key: CachedKey): CachedKey {
    key.cacheSlot = this.#known.set(key.record.digest, key);
    return key;
  }

  /** Forgets everything cached, e.g. after the feed lost its place. */
  clear(): void {
    this.#generation++;
    this.#known.clear();
    this.#unknown.clear();
    this.#byCertificate.clear();
  }

  get stats(): { hits: number; misses: number; knownKeys: number; unknownDigests: number } {
    return { hits: this.#hits, misses: this.#misses, knownKeys: this.#known.size, unknownDigests: this.#unknown.size };
  }
}
