/**
 * Every way a DPoP-bound request can be refused (RFC 9449), as denials made once at start: a
 * stable problem code, fixed detail text (never an echo of the proof or token), and the
 * `WWW-Authenticate: DPoP` challenge of RFC 9449 §7.1, whose `algs` lists the proof
 * algorithms the gateway accepts so a client knows what to sign with.
 */
import { denial, type Denial } from '../../http/error-catalogue.ts';
import type { DpopAlgorithm } from './proof-jwk.ts';

/** Why a proof was refused with `invalid_dpop_proof` (code `dpop_proof_invalid`). */
export type ProofRefusalReason = keyof typeof PROOF_DETAILS;

/** Why a delegated token was refused with `invalid_token` (code `dpop_token_invalid`, `dpop_token_expired` or `dpop_token_revoked`). */
export type TokenRefusalReason = keyof typeof TOKEN_DETAILS;

const PROOF_DETAILS = {
  missing: 'The request carries a DPoP-bound token but no DPoP proof; send one in the DPoP header.',
  multiple: 'The request carries more than one DPoP header value; send exactly one proof.',
  malformed: 'The DPoP proof is not a JWS in compact serialisation with a JSON header and claims.',
  typ: 'The DPoP proof header must have typ "dpop+jwt".',
  alg: 'The DPoP proof is signed with an algorithm the gateway does not accept (see algs in WWW-Authenticate).',
  jwk: 'The DPoP proof header must carry the public key (jwk) of the signing algorithm, with no private members.',
  signature: 'The DPoP proof signature does not verify with the key in its header.',
  jti: 'The DPoP proof must carry a jti claim: a unique string of 1 to 128 characters.',
  htm: 'The DPoP proof htm claim does not match the request method.',
  htu: 'The DPoP proof htu claim does not match the request URI (without query and fragment).',
  iat: 'The DPoP proof iat claim is missing or outside the accepted time window; check the client clock.',
  ath: 'The DPoP proof ath claim is missing or is not the hash of the access token sent with it.',
} as const;

const TOKEN_DETAILS = {
  malformed: 'The access token is not a token this gateway issued.',
  unknownKey: 'The access token is signed with a key this gateway does not hold (kid unknown or retired).',
  signature: 'The access token signature does not verify.',
  claims: 'The access token claims are missing or not valid.',
  expired: 'The access token has expired; ask for a new one.',
  thumbprint: 'The access token is bound to another key than the one that signed the DPoP proof.',
  multiple: 'The request carries more than one DPoP-bound access token; send exactly one.',
  parentUnknown: 'The key this access token was issued to no longer exists.',
  revoked: 'The access token has been revoked; ask for a new one.',
} as const;

/** The reasons with a problem code of their own; every other token refusal is `dpop_token_invalid`. */
const TOKEN_CODES: Readonly<Record<string, 'dpop_token_expired' | 'dpop_token_revoked'>> = { expired: 'dpop_token_expired', revoked: 'dpop_token_revoked' };

const REPLAYED_DETAIL = 'This DPoP proof was already used; make a new proof (with a new jti) for every request.';

/** The denials of one gateway's DPoP settings. */
export interface DpopRefusals {
  readonly proof: Readonly<Record<ProofRefusalReason, Denial>>;
  readonly token: Readonly<Record<TokenRefusalReason, Denial>>;
  readonly replayed: Denial;
  /** The request's `Origin` is not one the token names. */
  readonly originNotAllowed: Denial;
  /** The `WWW-Authenticate` line of `invalid_token`, for refusals whose code another module owns (the parent key revoked). */
  readonly invalidTokenChallenge: ReadonlyArray<readonly [string, string]>;
  /** `use_dpop_nonce` (RFC 9449 §9), with the nonce to use in `DPoP-Nonce`; made per refusal, as the nonce changes. */
  nonceRequired(nonce: string): Denial;
  /** The replay cache is full; `Retry-After` says when its oldest entry leaves it. */
  replayCacheFull(retryAfterSeconds: number): Denial;
}

/** The `WWW-Authenticate` value of RFC 9449 §7.1 for an OAuth error code. */
function dpopChallenge(error: string, algs: string): string {
  return `DPoP realm="portcullis", error="${error}", algs="${algs}"`;
}

/**
 * The refusals for a gateway that accepts proofs signed with `algorithms`.
 *
 * @example
 * const refusals = createDpopRefusals(['ES256', 'EdDSA']);
 * refusals.proof.htu.headers // [['www-authenticate', 'DPoP realm="portcullis", error="invalid_dpop_proof", algs="ES256 EdDSA"']]
 */
export function createDpopRefusals(algorithms: readonly DpopAlgorithm[]): DpopRefusals {
  const algs = algorithms.join(' ');
  const invalidProof = [['www-authenticate', dpopChallenge('invalid_dpop_proof', algs)]] as const;
  const invalidToken = [['www-authenticate', dpopChallenge('invalid_token', algs)]] as const;
  const useNonce = dpopChallenge('use_dpop_nonce', algs);
  const proof = Object.fromEntries(Object.entries(PROOF_DETAILS).map(([reason, detail]) => [reason, denial('dpop_proof_invalid', detail, invalidProof)]));
  const token = Object.fromEntries(
    Object.entries(TOKEN_DETAILS).map(([reason, detail]) => [reason, denial(TOKEN_CODES[reason] ?? 'dpop_token_invalid', detail, invalidToken)]),
  );
  return {
    proof: proof as Record<ProofRefusalReason, Denial>,
    token: token as Record<TokenRefusalReason, Denial>,
    replayed: denial('dpop_proof_replayed', REPLAYED_DETAIL, invalidProof),
    originNotAllowed: denial('dpop_origin_not_allowed', null, invalidToken),
    invalidTokenChallenge: invalidToken,
    nonceRequired: (nonce) => denial('dpop_nonce_required', null, [['www-authenticate', useNonce], ['dpop-nonce', nonce]]),
    // A full cache is the gateway's state, not the client's fault: 503 and no challenge.
    replayCacheFull: (retryAfterSeconds) => denial('dpop_replay_cache_full', null, [['retry-after', String(retryAfterSeconds)]]),
  };
}
