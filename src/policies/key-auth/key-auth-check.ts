import { digestKey } from '../../keys/key-digest.ts';
import { keyStatus } from '../../keys/key-record.ts';
import type { ParsedKey } from '../../keys/key-format.ts';
import type { CachedKey, KeyVerifier } from '../../verify/key-verifier.ts';
import type { VerifiedKeyMemo } from '../../verify/verified-key-memo.ts';
import { denial, type Denial } from '../../http/error-catalogue.ts';
import { AMBIGUOUS_CREDENTIALS, type Check, type CheckOutcome, type RequestContext, type RequestHeaderReader } from '../request-context.ts';
import { createKeyHeaderReader, stripQueryCredential, withQueryCredential } from './credential-reader.ts';
import { KeyFinder } from './key-finder.ts';

// RFC 6750 §3: no error attribute when credentials are missing, `invalid_token` when they fail.
const CHALLENGE = [['www-authenticate', 'Bearer realm="portcullis"']] as const;
const INVALID_TOKEN_CHALLENGE = [['www-authenticate', 'Bearer realm="portcullis", error="invalid_token"']] as const;

export const KEY_MISSING = denial('key_missing', null, CHALLENGE);
const KEY_INVALID = denial('key_invalid', null, INVALID_TOKEN_CHALLENGE);
export const KEY_REVOKED = denial('key_revoked', null, INVALID_TOKEN_CHALLENGE);
export const KEY_EXPIRED = denial('key_expired', null, INVALID_TOKEN_CHALLENGE);
export const KEY_QUARANTINED = denial('key_quarantined');
const KEY_AMBIGUOUS = denial('key_ambiguous');
const RETRY_SOON = [['retry-after', '5']] as const;
export const STORE_UNAVAILABLE = denial('store_unavailable', null, RETRY_SOON);
export const STORE_OUT_OF_REACH = denial('store_unavailable', 'The key store has been unreachable for too long to trust cached keys; try again shortly.', RETRY_SOON);

export interface KeyAuthCheckOptions {
  parseKey: (input: unknown) => ParsedKey | null;
  /** The prefixes of keys it accepts (`keys.acceptedPrefixes`): a value with a key of one of them inside presents that key. */
  acceptedPrefixes: readonly string[];
  verifier: KeyVerifier;
  /** Lower-case names of the headers that may carry a key (`keys.headers`). */
  keyHeaders: readonly string[];
  queryParameter: string | null;
  onStoreError: (error: unknown) => void;
  /** Keys that matched a record before, with their digests (verify/verified-key-memo.ts); null: off. */
  memo?: VerifiedKeyMemo | null;
  /** What to do when the request carries no key (default: 401 key_missing); certificate identity plugs in here. */
  onMissingKey?: ((context: RequestContext) => CheckOutcome) | undefined;
}

/** The denial for a looked-up key, or null after recording it on the context. */
function settle(context: RequestContext, key: CachedKey | null): Denial | null {
  if (key === null) return KEY_INVALID;
  context.presentedKey = key;
  const status = keyStatus(key.record, context.now);
  if (status === 'revoked') return KEY_REVOKED;
  if (status === 'expired') return KEY_EXPIRED;
  if (status === 'quarantined') return KEY_QUARANTINED;
  context.key = key;
  return null;
}

/**
 * The verdict on an answer from the verifier's memory. Once the change feed has not reached
 * the store for `changeFeed.staleFor`, memory may miss a revocation or a new key, so only its
 * refusals still stand (revoked, expired); a key it would let through gets 503 instead (fail
 * closed). A digest it remembers as unknown is called invalid only while the feed reaches the
 * store: during an outage the key may have been created since and cannot be looked up, so it
 * gets 503, as a key never seen before does.
 */
function settleCached(context: RequestContext, key: CachedKey | null, verifier: KeyVerifier): Denial | null {
  if (key === null) {
    if (context.now > verifier.freshUntil) return STORE_OUT_OF_REACH;
    return verifier.storeReachable ? KEY_INVALID : STORE_UNAVAILABLE;
  }
  if (context.now > verifier.freshUntil && keyStatus(key.record, context.now) === 'active') return STORE_OUT_OF_REACH;
  return settle(context, key);
}

/**
 * Stage 6, authentication by API key: exactly one key presented, malformed ones rejected by
 * format and checksum without any lookup, then its record found by SHA-256 digest in the
 * verifier's cache. A key that matched a record recently is found in the memo instead, which
 * gives its digest without the checksum and the SHA-256; the record is still looked up by that
 * digest. The key headers are read in the engine's header pass (`requestHeaders`).
 */
export class KeyAuthCheck implements Check {
  readonly name = 'key-auth';
  readonly requestHeaders: RequestHeaderReader;
  readonly #parseKey: (input: unknown) => ParsedKey | null;
  readonly #verifier: KeyVerifier;
  readonly #queryParameter: string | null;
  readonly #onStoreError: (error: unknown) => void;
  readonly #memo: VerifiedKeyMemo | null;
  readonly #onMissingKey: ((context: RequestContext) => CheckOutcome) | null;

  constructor(options: KeyAuthCheckOptions) {
    this.requestHeaders = createKeyHeaderReader(options.keyHeaders, new KeyFinder(options.acceptedPrefixes));
    this.#parseKey = options.parseKey;
    this.#verifier = options.verifier;
    this.#queryParameter = options.queryParameter;
    this.#onStoreError = options.onStoreError;
    this.#memo = options.memo ?? null;
    this.#onMissingKey = options.onMissingKey ?? null;
  }

  run(context: RequestContext): CheckOutcome {
    const queryParameter = this.#queryParameter;
    let credential = context.credential;
    if (queryParameter !== null) {
      credential = withQueryCredential(credential, context.upstreamPath, queryParameter);
      // The parameter never reaches the upstream, whatever it held (an empty one too).
      context.upstreamPath = stripQueryCredential(context.upstreamPath, queryParameter);
    }
    // Authenticated by an earlier stage-6 check (a delegated DPoP token runs as its parent key);
    // a key beside it is one credential too many.
    if (context.key !== null) return credential === null ? null : KEY_AMBIGUOUS;
    if (credential === null) return this.#onMissingKey === null ? KEY_MISSING : this.#onMissingKey(context);
    if (credential === AMBIGUOUS_CREDENTIALS) return KEY_AMBIGUOUS;
    // A remembered key's record has this key's digest; the verifier confirms it is current.
    const remembered = this.#memo === null ? undefined : this.#memo.keyOf(credential);
    let digest: string | null = null;
    if (remembered === undefined) {
      if (this.#parseKey(credential) === null) return KEY_INVALID;
      digest = digestKey(credential);
    }
    let found: ReturnType<KeyVerifier['lookup']>;
    try {
      found = digest === null ? this.#verifier.current(remembered as CachedKey) : this.#verifier.lookup(digest);
    } catch (error) {
      return this.#storeFailed(error);
    }
    // A promise is a fresh store read; anything else came from memory.
    if (found instanceof Promise) return this.#settleRead(found, context, credential);
    if (found !== remembered) this.#rememberMatch(credential, found);
    return settleCached(context, found, this.#verifier);
  }

  async #settleRead(read: Promise<CachedKey | null>, context: RequestContext, credential: string): Promise<Denial | null> {
    let key: CachedKey | null;
    try {
      key = await read;
    } catch (error) {
      return this.#storeFailed(error);
    }
    return settle(context, this.#rememberMatch(credential, key));
  }

  /** Remembers a key whose digest matched a record, so its next request skips parse and digest. */
  #rememberMatch(credential: string, key: CachedKey | null): CachedKey | null {
    if (key !== null && this.#memo !== null) this.#memo.remember(credential, key);
    return key;
  }

  #storeFailed(error: unknown): Denial {
    this.#onStoreError(error);
    return STORE_UNAVAILABLE;
  }
}
