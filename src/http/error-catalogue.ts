/**
 * Every error code a client can receive, in one place. Each is documented in docs/errors.md
 * (a test checks that), and the codes are stable: scripts may rely on them.
 */
export const ERROR_CATALOGUE = {
  request_invalid: { status: 400, title: 'Request invalid' },
  path_not_canonical: { status: 400, title: 'Path not canonical' },
  route_not_found: { status: 404, title: 'Route not found' },
  scope_missing: { status: 403, title: 'Scope missing' },
  body_too_large: { status: 413, title: 'Request body too large' },
  unsupported_media_type: { status: 415, title: 'Unsupported media type' },
  key_missing: { status: 401, title: 'API key missing' },
  key_invalid: { status: 401, title: 'API key invalid' },
  key_revoked: { status: 401, title: 'API key revoked' },
  key_expired: { status: 401, title: 'API key expired' },
  key_ambiguous: { status: 400, title: 'More than one API key' },
  key_certificate_mismatch: { status: 401, title: 'API key bound to another certificate' },
  client_certificate_required: { status: 401, title: 'Client certificate required' },
  ip_not_allowed: { status: 403, title: 'Address not allowed' },
  method_not_allowed: { status: 405, title: 'Method not allowed' },
  rate_limited: { status: 429, title: 'Rate limit exceeded' },
  quota_exceeded: { status: 429, title: 'Quota exceeded' },
  locked_out: { status: 429, title: 'Address locked out' },
  internal_error: { status: 500, title: 'Internal error' },
  upstream_unavailable: { status: 502, title: 'Upstream unavailable' },
  store_unavailable: { status: 503, title: 'Key store unavailable' },
  upstream_timeout: { status: 504, title: 'Upstream timeout' },
  // The admin API's own (admin listener only; docs/errors.md, "Admin API").
  admin_unauthorized: { status: 401, title: 'Admin token required' },
  admin_forbidden: { status: 403, title: 'Admin role too low' },
  admin_client_refused: { status: 403, title: 'Admin client not allowed' },
  csrf_failed: { status: 403, title: 'Cross-site request refused' },
  not_found: { status: 404, title: 'Not found' },
  conflict: { status: 409, title: 'Conflict' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

/** A failed check, as a value: one responder turns it into problem+json. */
export interface Denial {
  code: ErrorCode;
  status: number;
  detail: string;
  /** Extra response headers, as name/value pairs (e.g. WWW-Authenticate). */
  headers?: ReadonlyArray<readonly [string, string]>;
  /** What exactly was wrong (request_invalid), as the problem's `errors` member; bounded in length. */
  errors?: ReadonlyArray<ProblemError>;
}

/** One entry of a problem's `errors`: where (a JSON pointer into path, query, headers or body) and what. */
export interface ProblemError {
  pointer: string;
  message: string;
}

export function denial(code: ErrorCode, detail: string, headers?: ReadonlyArray<readonly [string, string]>): Denial {
  const entry = ERROR_CATALOGUE[code];
  return headers ? { code, status: entry.status, detail, headers } : { code, status: entry.status, detail };
}

/** The RFC 9457 `type` URI for a code; docs/errors.md has a section per code. */
export function problemTypeFor(code: ErrorCode): string {
  return `urn:portcullis:problem:${code}`;
}
