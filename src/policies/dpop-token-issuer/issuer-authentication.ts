import { createCidrMatcher, type CidrMatcher } from '../../http/cidr.ts';
import { denial, type Denial } from '../../http/error-catalogue.ts';
import { verifiedPeerFingerprint } from '../../http/peer-certificate.ts';
import { digestKey } from '../../keys/key-digest.ts';
import type { ParsedKey } from '../../keys/key-format.ts';
import { keyStatus, type KeyRecord } from '../../keys/key-record.ts';
import type { CachedKey, KeyVerifier } from '../../verify/key-verifier.ts';
import { AMBIGUOUS_CREDENTIALS, type RequestContext } from '../request-context.ts';

// RFC 6750 §3, as key auth answers: no error attribute when the key is missing.
const CHALLENGE = [['www-authenticate', 'Bearer realm="portcullis"']] as const;
const INVALID_TOKEN_CHALLENGE = [['www-authenticate', 'Bearer realm="portcullis", error="invalid_token"']] as const;
const KEY_MISSING = denial('key_missing', null, CHALLENGE);
const KEY_INVALID = denial('key_invalid', null, INVALID_TOKEN_CHALLENGE);
const KEY_AMBIGUOUS = denial('key_ambiguous');
const REFUSED_BY_STATUS = {
  revoked: denial('key_revoked', null, INVALID_TOKEN_CHALLENGE),
  expired: denial('key_expired', null, INVALID_TOKEN_CHALLENGE),
  quarantined: denial('key_quarantined'),
} as const;
const IP_NOT_ALLOWED = denial('ip_not_allowed');
const KEY_CERTIFICATE_MISMATCH = denial('key_certificate_mismatch', null, INVALID_TOKEN_CHALLENGE);
const RETRY_SOON = [['retry-after', '5']] as const;
const STORE_UNAVAILABLE = denial('store_unavailable', null, RETRY_SOON);
const MATCHES_NOTHING: CidrMatcher = { source: [], matches: () => false };

export interface IssuerAuthenticationOptions {
  readonly parseKey: (input: unknown) => ParsedKey | null;
  readonly verifier: Pick<KeyVerifier, 'lookup' | 'freshUntil' | 'storeReachable'>;
  onStoreError(error: unknown): void;
}

/**
 * The frontend server's own key, checked as stages 6 and 7 check a key (the token path is
 * answered in stage 5, before them): exactly one key, its format, its record through the key
 * verifier (so a revocation anywhere is seen here too), its status, its networks and its
 * certificate binding. A delegated token cannot obtain another: `Authorization: DPoP` presents
 * no key.
 */
export class IssuerAuthentication {
  readonly #options: IssuerAuthenticationOptions;
  readonly #matchers = new WeakMap<KeyRecord, CidrMatcher>();

  constructor(options: IssuerAuthenticationOptions) {
    this.#options = options;
  }

  async authenticate(context: RequestContext): Promise<CachedKey | Denial> {
    const credential = context.credential;
    if (credential === null) return KEY_MISSING;
    if (credential === AMBIGUOUS_CREDENTIALS) return KEY_AMBIGUOUS;
    if (this.#options.parseKey(credential) === null) return KEY_INVALID;
    const { verifier } = this.#options;
    let key: CachedKey | null;
    try {
      key = await verifier.lookup(digestKey(credential));
    } catch (error) {
      this.#options.onStoreError(error);
      return STORE_UNAVAILABLE;
    }
    if (key === null) return verifier.storeReachable ? KEY_INVALID : STORE_UNAVAILABLE;
    context.presentedKey = key;
    const status = keyStatus(key.record, context.now);
    if (status !== 'active') return REFUSED_BY_STATUS[status];
    if (context.now > verifier.freshUntil) return STORE_UNAVAILABLE;
    return this.#restrictions(context, key.record) ?? key;
  }

  #restrictions(context: RequestContext, record: KeyRecord): Denial | null {
    if (record.allowedCidrs.length > 0 && !this.#matcherFor(record).matches(context.client.ip)) return IP_NOT_ALLOWED;
    if (record.certFingerprint !== null && verifiedPeerFingerprint(context.req.socket) !== record.certFingerprint) return KEY_CERTIFICATE_MISMATCH;
    return null;
  }

  /** A stored CIDR list that no longer compiles matches nothing: fail closed. */
  #matcherFor(record: KeyRecord): CidrMatcher {
    let matcher = this.#matchers.get(record);
    if (matcher === undefined) {
      try {
        matcher = createCidrMatcher(record.allowedCidrs, `key ${record.id}`);
      } catch {
        matcher = MATCHES_NOTHING;
      }
      this.#matchers.set(record, matcher);
    }
    return matcher;
  }
}
