import { digestKey } from '../../keys/key-digest.ts';
import { keyStatus } from '../../keys/key-record.ts';
import type { ParsedKey } from '../../keys/key-format.ts';
import type { CachedKey, KeyVerifier } from '../../verify/key-verifier.ts';
import type { VerifiedKeyMemo } from '../../verify/verified-key-memo.ts';
import { denial, type Denial } from '../../http/error-catalogue.ts';
import type { Check, CheckOutcome, RequestContext } from '../request-context.ts';
import { AMBIGUOUS_CREDENTIALS, stripQueryCredential, withQueryCredential } from './credential-reader.ts';

// RFC 6750 §3: no error attribute when credentials are missing, `invalid_token` when they fail.
const CHALLENGE = [['www-authenticate', 'Bearer realm="portcullis"']] as const;
const INVALID_TOKEN_CHALLENGE = [['www-authenticate', 'Bearer realm="portcullis", error="invalid_token"']] as const;

export const KEY_MISSING = denial('key_missing', 'Send an API key in the Authorization header (Bearer scheme) or the X-API-Key header.', CHALLENGE);
const KEY_INVALID = denial('key_invalid', 'The API key is not valid.', INVALID_TOKEN_CHALLENGE);
export const KEY_REVOKED = denial('key_revoked', 'The API key has been revoked.', INVALID_TOKEN_CHALLENGE);
export const KEY_EXPIRED = denial('key_expired', 'The API key has expired.', INVALID_TOKEN_CHALLENGE);
const KEY_AMBIGUOUS = denial('key_ambiguous', 'The request carries more than one different API key; send exactly one.');
export const STORE_UNAVAILABLE = denial('store_unavailable', 'The key store cannot be reached; try again shortly.', [['retry-after', '5']]);
export const STORE_OUT_OF_REACH = denial('store_unavailable', 'The key store has been unreachable for too long to trust cached keys; try again shortly.', [['retry-after', '5']]);

export interface KeyAuthCheckOptions {
  parseKey: (input: unknown) => ParsedKey | null;
  verifier: KeyVerifier;
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
  context.key = key;
  return null;
}

/**
 * The verdict on an answer from the verifier's memory. Once the change feed has not reached
 * the store for `changeFeed.staleFor`, memory may miss a revocation or a new key, so only its
 * refusals still stand (revoked, expired); a key it would let through, or a digest it
 * remembers as unknown, gets 503 instead (fail closed).
 */
function settleCached(context: RequestContext, key: CachedKey | null, freshUntil: number): Denial | null {
  if (context.now > freshUntil && (key === null || keyStatus(key.record, context.now) === 'active')) return STORE_OUT_OF_REACH;
  return settle(context, key);
}

/**
 * Authentication by API key: exactly one key presented, malformed ones rejected by format and
 * checksum without any lookup, then find its record by SHA-256 digest in the verifier's cache.
 * A key that matched a record recently is found in the memo instead, which gives its digest
 * without the checksum and the SHA-256; the record is still looked up by that digest.
 */
export function createKeyAuthCheck(options: KeyAuthCheckOptions): Check {
  const { parseKey, verifier, queryParameter, onStoreError } = options;
  const onMissingKey = options.onMissingKey ?? null;
  const memo = options.memo ?? null;
  const storeFailed = (error: unknown): Denial => {
    onStoreError(error);
    return STORE_UNAVAILABLE;
  };
  /** Remembers a key whose digest matched a record, so its next request skips parse and digest. */
  const rememberMatch = (credential: string, key: CachedKey | null): CachedKey | null => {
    if (key !== null && memo !== null) memo.remember(credential, key);
    return key;
  };
  // Its own function, so `run` creates no closure (which would cost a context per request).
  const settleRead = (read: Promise<CachedKey | null>, context: RequestContext, credential: string): Promise<Denial | null> =>
    read.then((key) => settle(context, rememberMatch(credential, key)), storeFailed);
  return {
    name: 'key-auth',
    run(context): CheckOutcome {
      // The key headers were read with every other header (gateway/forward-headers.ts).
      const credential = queryParameter === null ? context.credential : withQueryCredential(context.credential, context.upstreamPath, queryParameter);
      if (credential === null) return onMissingKey === null ? KEY_MISSING : onMissingKey(context);
      if (credential === AMBIGUOUS_CREDENTIALS) return KEY_AMBIGUOUS;
      // A remembered key's record has this key's digest; the verifier confirms it is current.
      const remembered = memo === null ? undefined : memo.keyOf(credential);
      let digest: string | null = null;
      if (remembered === undefined) {
        if (parseKey(credential) === null) return KEY_INVALID;
        digest = digestKey(credential);
      }
      if (queryParameter !== null) context.upstreamPath = stripQueryCredential(context.upstreamPath, queryParameter);
      let found: ReturnType<KeyVerifier['lookup']>;
      try {
        found = digest === null ? verifier.current(remembered as CachedKey) : verifier.lookup(digest);
      } catch (error) {
        return storeFailed(error);
      }
      // A promise is a fresh store read; anything else came from memory.
      if (found instanceof Promise) return settleRead(found, context, credential);
      if (found !== remembered) rememberMatch(credential, found);
      return settleCached(context, found, verifier.freshUntil);
    },
  };
}
