/**
 * Every error code a client can receive, in one place: its status, its title and, where one
 * message fits every use, its detail. Each is documented in docs/errors.md (a test checks
 * that), and the codes are stable: scripts may rely on them. A denial is always made here
 * (`denial`), so no status is ever written by hand.
 */
export const ERROR_CATALOGUE = {
  request_invalid: { status: 400, title: 'Request invalid' },
  path_not_canonical: { status: 400, title: 'Path not canonical' },
  header_ambiguous: { status: 400, title: 'Header name ambiguous' },
  route_not_found: { status: 404, title: 'Route not found', detail: 'No route of this API matches the path.' },
  api_not_found: { status: 404, title: 'API not found', detail: 'No API of this gateway matches the host name and path.' },
  scope_missing: { status: 403, title: 'Scope missing' },
  key_wrong_api: { status: 403, title: 'API key not valid for this API', detail: 'This API key was created for other APIs of this gateway.' },
  body_too_large: { status: 413, title: 'Request body too large' },
  unsupported_media_type: { status: 415, title: 'Unsupported media type' },
  key_missing: { status: 401, title: 'API key missing', detail: 'Send an API key in the Authorization header (Bearer scheme) or the X-API-Key header.' },
  key_invalid: { status: 401, title: 'API key invalid', detail: 'The API key is not valid.' },
  key_revoked: { status: 401, title: 'API key revoked', detail: 'The API key has been revoked.' },
  key_expired: { status: 401, title: 'API key expired', detail: 'The API key has expired.' },
  key_quarantined: { status: 403, title: 'API key quarantined', detail: 'The API key is quarantined after a suspected leak; its operator must release it before it works again.' },
  key_ambiguous: { status: 400, title: 'More than one API key', detail: 'The request carries more than one different API key; send exactly one.' },
  key_certificate_mismatch: { status: 401, title: 'API key bound to another certificate', detail: 'This API key is bound to a client certificate; send it on a TLS connection that presents that certificate.' },
  alert_signature_invalid: { status: 401, title: 'Alert signature invalid', detail: 'A secret-scanning alert must carry GITHUB-PUBLIC-KEY-IDENTIFIER and GITHUB-PUBLIC-KEY-SIGNATURE headers with a valid signature of its body by a configured public key.' },
  client_certificate_required: { status: 401, title: 'Client certificate required', detail: 'This gateway requires a client certificate signed by its client CA; connect again presenting one.' },
  // DPoP-bound delegated tokens (RFC 9449); each carries a `WWW-Authenticate: DPoP` challenge (docs/errors.md).
  dpop_proof_invalid: { status: 401, title: 'DPoP proof invalid' },
  dpop_proof_replayed: { status: 401, title: 'DPoP proof replayed' },
  dpop_nonce_required: { status: 401, title: 'DPoP nonce required', detail: 'Make the DPoP proof again with the nonce from the DPoP-Nonce response header.' },
  dpop_token_invalid: { status: 401, title: 'DPoP-bound token invalid' },
  dpop_token_expired: { status: 401, title: 'DPoP-bound token expired' },
  dpop_token_revoked: { status: 401, title: 'DPoP-bound token revoked' },
  dpop_origin_not_allowed: { status: 401, title: 'Origin not allowed for this token', detail: 'The request comes from an Origin the DPoP-bound token was not issued for.' },
  // Signed requests (RFC 9421) for keys bound to a public key; each carries a Bearer `invalid_token` challenge (docs/errors.md).
  signature_missing: { status: 401, title: 'Request signature missing', detail: 'This API key is bound to a signing key: sign every request with it (RFC 9421 Signature-Input and Signature headers).' },
  signature_invalid: { status: 401, title: 'Request signature invalid' },
  signature_expired: { status: 401, title: 'Request signature expired' },
  signature_replayed: { status: 401, title: 'Request signature replayed', detail: 'This signature was already used; sign each request anew (with a fresh nonce).' },
  content_digest_mismatch: { status: 401, title: 'Content digest mismatch' },
  ip_not_allowed: { status: 403, title: 'Address not allowed', detail: 'Requests from this address are not allowed.' },
  method_not_allowed: { status: 405, title: 'Method not allowed' },
  rate_limited: { status: 429, title: 'Rate limit exceeded' },
  quota_exceeded: { status: 429, title: 'Quota exceeded' },
  locked_out: { status: 429, title: 'Address locked out' },
  websocket_limit: { status: 429, title: 'Too many WebSockets open', detail: 'This API key holds as many open WebSockets on this gateway as it may; close one before opening another.' },
  internal_error: { status: 500, title: 'Internal error', detail: 'The gateway failed to handle the request.' },
  upstream_unavailable: { status: 502, title: 'Upstream unavailable', detail: 'The upstream API could not be reached.' },
  store_unavailable: { status: 503, title: 'Key store unavailable', detail: 'The key store cannot be reached; try again shortly.' },
  validation_busy: { status: 503, title: 'Validation busy', detail: 'The gateway is holding as many request bodies for validation as it may; try again shortly.' },
  key_reports_busy: { status: 503, title: 'Key reports busy', detail: 'The gateway holds as many reported keys waiting to be handled as it may; try again shortly.' },
  dpop_replay_cache_full: { status: 503, title: 'DPoP replay cache full', detail: 'The gateway is remembering as many recent DPoP proofs as it may; try again shortly.' },
  upstream_timeout: { status: 504, title: 'Upstream timeout', detail: 'The upstream API did not answer in time.' },
  // The admin API's own (admin listener only; docs/errors.md, "Admin API").
  admin_unauthorized: { status: 401, title: 'Admin token required' },
  admin_forbidden: { status: 403, title: 'Admin role too low' },
  admin_client_refused: { status: 403, title: 'Admin client not allowed' },
  csrf_failed: { status: 403, title: 'Cross-site request refused' },
  not_found: { status: 404, title: 'Not found' },
  conflict: { status: 409, title: 'Conflict' },
} as const satisfies Record<string, { status: number; title: string; detail?: string }>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

/** The codes whose catalogue entry carries the one detail every use of it shows. */
type CodeWithDetail = { [C in ErrorCode]: (typeof ERROR_CATALOGUE)[C] extends { detail: string } ? C : never }[ErrorCode];

/** A response header of a denial, as a name/value pair. */
export type DenialHeader = readonly [string, string];

/** A failed check, as a value: one responder turns it into problem+json. */
export interface Denial {
  readonly code: ErrorCode;
  readonly status: number;
  readonly detail: string;
  /** Extra response headers (e.g. WWW-Authenticate). */
  readonly headers?: ReadonlyArray<DenialHeader>;
  /** What exactly was wrong (request_invalid), as the problem's `errors` member; bounded in length. */
  readonly errors?: ReadonlyArray<ProblemError>;
}

/** One entry of a problem's `errors`: where (a JSON pointer into path, query, headers or body) and what. */
export interface ProblemError {
  readonly pointer: string;
  readonly message: string;
}

/**
 * The denial for `code`, with its catalogue status. Denials are values: make the fixed ones
 * once, at start-up, and reuse them.
 *
 * @example
 * const KEY_REVOKED = denial('key_revoked', null, [['www-authenticate', 'Bearer error="invalid_token"']]);
 */
export function denial(code: CodeWithDetail, detail?: null, headers?: ReadonlyArray<DenialHeader>, errors?: ReadonlyArray<ProblemError>): Denial;
export function denial(code: ErrorCode, detail: string, headers?: ReadonlyArray<DenialHeader>, errors?: ReadonlyArray<ProblemError>): Denial;
export function denial(code: ErrorCode, detail?: string | null, headers?: ReadonlyArray<DenialHeader>, errors?: ReadonlyArray<ProblemError>): Denial {
  const entry: { status: number; detail?: string } = ERROR_CATALOGUE[code];
  const made: { -readonly [K in keyof Denial]: Denial[K] } = { code, status: entry.status, detail: detail ?? entry.detail ?? '' };
  if (headers !== undefined) made.headers = headers;
  if (errors !== undefined) made.errors = errors;
  return made;
}

/** The RFC 9457 `type` URI for a code; docs/errors.md has a section per code. */
export function problemTypeFor(code: ErrorCode): string {
  return `urn:portcullis:problem:${code}`;
}
