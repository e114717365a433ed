import type { RequestHeaderReader, ScannedRequestHeaders } from '../request-context.ts';

/** `DPoP` as an `Authorization` scheme (RFC 9449 §7.1; scheme names are case-insensitive), then blanks. */
const DPOP_SCHEME = /^dpop[ \t]+/i;

/**
 * Reads what a request presents for DPoP in the engine's one pass over its headers: the token
 * of `Authorization: DPoP <token>` and every `DPoP` line. Both are kept from the upstream: the
 * API never sees the token or the proof. An `Authorization` line in another scheme is left to
 * the key reader (both read that name, see request-header-scanner.ts).
 */
export const dpopHeaderReader: RequestHeaderReader = {
  names: ['authorization', 'dpop'],
  readHeader(into: ScannedRequestHeaders, lowerCaseName: string, value: string): boolean {
    if (lowerCaseName === 'dpop') {
      (into.dpop ??= { tokens: [], proofs: [] }).proofs.push(value.trim());
      return true;
    }
    const scheme = DPOP_SCHEME.exec(value);
    if (scheme === null) return false;
    (into.dpop ??= { tokens: [], proofs: [] }).tokens.push(value.slice(scheme[0].length).trim());
    return true;
  },
};
