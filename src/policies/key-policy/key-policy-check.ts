import { createCidrMatcher, type CidrMatcher } from '../../http/cidr.ts';
import { denial } from '../../http/error-catalogue.ts';
import { verifiedPeerFingerprint } from '../../http/peer-certificate.ts';
import type { Check } from '../request-context.ts';
import { keyAllowsApi } from '../../keys/key-apis.ts';
import type { KeyRecord } from '../../keys/key-record.ts';

const IP_NOT_ALLOWED = denial('ip_not_allowed');
const KEY_WRONG_API = denial('key_wrong_api');
const KEY_CERTIFICATE_MISMATCH = denial('key_certificate_mismatch', null, [['www-authenticate', 'Bearer realm="portcullis", error="invalid_token"']]);

const MATCHES_NOTHING: CidrMatcher = { source: [], matches: () => false };

/**
 * Stage 7: what a key record restricts, checked right after authentication.
 *
 * - `apis`: the key only works on these APIs of the gateway (403 `key_wrong_api`); empty: on
 *   every API. The API is the one the request matched (stage 5), or the only one; a request
 *   without one (never, past stage 5) is refused.
 * - `allowedCidrs`: the key only works from these client addresses (403 `ip_not_allowed`).
 * - `certFingerprint`: the key only works on a connection that presented that client
 *   certificate, verified against `tls.clientCa` (401 `key_certificate_mismatch`). This is the
 *   idea of RFC 8705 certificate-bound tokens: a stolen key is useless without the private key
 *   of the certificate, which never leaves the client.
 *
 * A record's CIDR list is compiled the first time the record is used and kept in a WeakMap
 * keyed by the record object, so a changed record (a new object from the change feed) is
 * compiled afresh and a forgotten one is collected. A list that no longer compiles (written to
 * the store by something other than the CLI) matches nothing: fail closed.
 */
export function createKeyPolicyCheck(onInvalidCidr: (keyId: string, error: unknown) => void): Check {
  const matchers = new WeakMap<KeyRecord, CidrMatcher>();
  const matcherFor = (record: KeyRecord): CidrMatcher => {
    let matcher = matchers.get(record);
    if (matcher === undefined) {
      try {
        matcher = createCidrMatcher(record.allowedCidrs, `key ${record.id}`);
      } catch (error) {
        onInvalidCidr(record.id, error);
        matcher = MATCHES_NOTHING;
      }
      matchers.set(record, matcher);
    }
    return matcher;
  };
  return {
    name: 'key-policy',
    run(context) {
      const record = context.key?.record;
      if (record === undefined) return null;
      if (record.apis.length > 0 && (context.api === null || !keyAllowsApi(record.apis, context.api.name))) return KEY_WRONG_API;
      if (record.allowedCidrs.length > 0 && !matcherFor(record).matches(context.client.ip)) return IP_NOT_ALLOWED;
      if (record.certFingerprint !== null && verifiedPeerFingerprint(context.req.socket) !== record.certFingerprint) return KEY_CERTIFICATE_MISMATCH;
      return null;
    },
  };
}
