import { denial, type Denial, type ErrorCode } from '../http/error-catalogue.ts';

const CACHED_SECONDS = 3600;

/**
 * The 429 denials of one code, one per Retry-After value. A refusal under a flood happens on
 * every request, so the common values (up to an hour) are built once and reused.
 */
export function retryDenials(code: ErrorCode, detail: string): (retryAfterSeconds: number) => Denial {
  const cache: Array<Denial | undefined> = [];
  return function denialRetryingAfter(seconds) {
    if (seconds > CACHED_SECONDS) return denial(code, detail, [['retry-after', String(seconds)]]);
    return (cache[seconds] ??= denial(code, detail, [['retry-after', String(seconds)]]));
  };
}
