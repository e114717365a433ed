/**
 * Parsers for the human units used in config and CLI flags: durations (`250ms`, `30s`, `5m`,
 * `1h`, `30d`) and byte sizes (`512kb`, `10mb`). Pure functions; they return null instead of throwing.
 */

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const SIZE_UNITS: Record<string, number> = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 };

const DURATION_PATTERN = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;
const SIZE_PATTERN = /^(\d+(?:\.\d+)?)(b|kb|mb|gb)$/i;

/** Milliseconds for a duration string or a plain number of milliseconds; null when malformed. */
export function parseDuration(value: unknown): number | null {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? Math.round(value) : null;
  if (typeof value !== 'string') return null;
  const match = DURATION_PATTERN.exec(value.trim());
  if (!match) return null;
  const amount = Number(match[1]) * (DURATION_UNITS[match[2] as string] as number);
  return Number.isSafeInteger(Math.round(amount)) ? Math.round(amount) : null;
}

/** Bytes for a size string or a plain number of bytes; null when malformed. */
export function parseByteSize(value: unknown): number | null {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? value : null;
  if (typeof value !== 'string') return null;
  const match = SIZE_PATTERN.exec(value.trim());
  if (!match) return null;
  const amount = Math.floor(Number(match[1]) * (SIZE_UNITS[(match[2] as string).toLowerCase()] as number));
  return Number.isSafeInteger(amount) ? amount : null;
}

export interface HostPort {
  host: string;
  port: number;
}

/**
 * `HOST:PORT`, with IPv6 hosts in brackets (`[::]:8080`). A bare port (`8080`) means 127.0.0.1,
 * the safe default. Returns null when malformed.
 */
export function parseHostPort(value: unknown): HostPort | null {
  if (typeof value === 'number') return validPort(value) ? { host: '127.0.0.1', port: value } : null;
  if (typeof value !== 'string') return null;
  const text = value.trim();
  if (/^\d+$/.test(text)) return parseHostPort(Number(text));
  const bracketed = /^\[([0-9a-fA-F:.]+)\]:(\d{1,5})$/.exec(text);
  const plain = /^([A-Za-z0-9.-]+):(\d{1,5})$/.exec(text);
  const match = bracketed ?? plain;
  if (!match) return null;
  const port = Number(match[2]);
  return validPort(port) ? { host: match[1] as string, port } : null;
}

function validPort(port: number): boolean {
  return Number.isInteger(port) && port >= 0 && port <= 65535;
}

/** `HOST:PORT` again, bracketing IPv6 hosts. */
export function formatHostPort({ host, port }: HostPort): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
