import { keyStatus } from '../../keys/key-record.ts';
import type { CachedKey, KeyVerifier } from '../../verify/key-verifier.ts';
import type { Denial } from '../../http/error-catalogue.ts';
import { verifiedPeerFingerprint } from '../../http/peer-certificate.ts';
import type { CheckOutcome, RequestContext } from '../request-context.ts';
import { KEY_EXPIRED, KEY_MISSING, KEY_QUARANTINED, KEY_REVOKED, STORE_OUT_OF_REACH, STORE_UNAVAILABLE } from './key-auth-check.ts';

/**
 * Certificate identity (`tls.certificateIdentity`): a request without a key, on a connection
 * whose client certificate the CA verified, is authenticated as the key bound to that
 * certificate (`keys create --cert FILE`). The key record still carries every policy (allowed
 * networks, revocation, expiry), so revoking the key revokes the certificate's access too,
 * without waiting for a CRL.
 *
 * Several keys can be bound to one certificate (a rotation copies the binding): the newest live
 * one is used. When none is active, the newest one's status is the answer.
 * Like key auth, an answer from memory past `changeFeed.staleFor` only stands as a refusal,
 * and "no key" from memory gets 503 while the change feed cannot reach the store.
 */
export function createCertificateIdentity(verifier: KeyVerifier, onStoreError: (error: unknown) => void): (context: RequestContext) => CheckOutcome {
  const choose = (context: RequestContext, keys: readonly CachedKey[]): Denial | null => {
    for (const key of keys) {
      if (keyStatus(key.record, context.now) === 'active') {
        context.key = key;
        return null;
      }
    }
    if (keys.length === 0) return KEY_MISSING;
    const status = keyStatus((keys[0] as CachedKey).record, context.now);
    return status === 'revoked' ? KEY_REVOKED : status === 'quarantined' ? KEY_QUARANTINED : KEY_EXPIRED;
  };
  const storeFailed = (error: unknown): Denial => {
    onStoreError(error);
    return STORE_UNAVAILABLE;
  };
  /**
   * From memory: once the feed has not reached the store for staleFor, only refusals stand;
   * while it cannot reach the store, "no key is bound to this certificate" is not trusted
   * either (one may have been bound since).
   */
  const chooseCached = (context: RequestContext, keys: readonly CachedKey[]): Denial | null => {
    if (context.now > verifier.freshUntil && (keys.length === 0 || keys.some((key) => keyStatus(key.record, context.now) === 'active'))) return STORE_OUT_OF_REACH;
    if (keys.length === 0 && !verifier.storeReachable) return STORE_UNAVAILABLE;
    return choose(context, keys);
  };
  return function authenticateByCertificate(context) {
    const fingerprint = verifiedPeerFingerprint(context.req.socket);
    if (fingerprint === null) return KEY_MISSING;
    let found: ReturnType<KeyVerifier['lookupByCertificate']>;
    try {
      found = verifier.lookupByCertificate(fingerprint);
    } catch (error) {
      return storeFailed(error);
    }
    if (found instanceof Promise) return found.then((keys) => choose(context, keys), storeFailed);
    return chooseCached(context, found);
  };
}
