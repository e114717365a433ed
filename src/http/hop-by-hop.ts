/**
 * Hop-by-hop headers (RFC 9110 §7.6.1): they belong to one connection and are never forwarded,
 * nor are the headers a `Connection` header names.
 */

export const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'proxy-authorization', 'proxy-authenticate'] as const;

/** Tokens named by a `Connection` value (lower case), besides close/keep-alive, added to `into`; null when none. */
export function connectionTokens(value: string, into: Set<string> | null): Set<string> | null {
  if (value === 'keep-alive' || value === 'close') return into;
  for (const token of value.split(',')) {
    const trimmed = token.trim().toLowerCase();
    if (trimmed !== '' && trimmed !== 'close' && trimmed !== 'keep-alive') (into ??= new Set()).add(trimmed);
  }
  return into;
}

/** Flat name/value pairs without the headers `named` (lower case). */
export function withoutNamed(headers: readonly string[], named: ReadonlySet<string>): string[] {
  const kept: string[] = [];
  for (let index = 0; index < headers.length; index += 2) {
    if (!named.has((headers[index] as string).toLowerCase())) kept.push(headers[index] as string, headers[index + 1] as string);
  }
  return kept;
}
