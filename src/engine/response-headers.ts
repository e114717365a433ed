import { connectionTokens, HOP_BY_HOP, withoutNamed } from '../http/hop-by-hop.ts';

const RESPONSE_HOP_BY_HOP = new Set<string>(HOP_BY_HOP);
const RESPONSE_HOP_BY_HOP_LENGTHS = new Set([...RESPONSE_HOP_BY_HOP].map((name) => name.length));

function asText(value: Buffer | string | undefined): string {
  if (value === undefined) return '';
  return typeof value === 'string' ? value : value.toString('latin1');
}

/** The upstream's response headers (raw buffers from undici) minus hop-by-hop ones, as a flat string array. */
export function buildClientResponseHeaders(rawHeaders: ReadonlyArray<Buffer | string>): string[] {
  const headers: string[] = [];
  let named: Set<string> | null = null;
  for (let index = 0; index < rawHeaders.length; index += 2) {
    // latin1 keeps the upstream's bytes exactly; Node writes header values as latin1.
    const name = asText(rawHeaders[index]);
    const value = asText(rawHeaders[index + 1]);
    if (RESPONSE_HOP_BY_HOP_LENGTHS.has(name.length)) {
      const lower = name.toLowerCase();
      if (lower === 'connection') {
        named = connectionTokens(value, named);
        continue;
      }
      if (RESPONSE_HOP_BY_HOP.has(lower)) continue;
    }
    headers.push(name, value);
  }
  return named === null ? headers : withoutNamed(headers, named);
}
