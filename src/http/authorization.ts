/**
 * The `Authorization` header's Bearer scheme (RFC 6750 §2.1), as the gateway and the admin API
 * read it: the scheme name in any case, one space, then the token.
 */

/** Whether an `Authorization` value is in the Bearer scheme. */
export function isBearer(value: string): boolean {
  return value.length > 7 && value.charCodeAt(6) === 32 && value.slice(0, 6).toLowerCase() === 'bearer';
}

/**
 * The token of an `Authorization` value in the Bearer scheme (empty when the scheme comes
 * without one); undefined for other schemes.
 */
export function bearerToken(value: string): string | undefined {
  const trimmed = value.trim();
  if (trimmed.length === 6 && trimmed.toLowerCase() === 'bearer') return '';
  return isBearer(trimmed) ? trimmed.slice(7).trim() : undefined;
}
