import { randomBytes } from 'node:crypto';

const HEADER = 'x-request-id';
/** What an incoming id may look like: UUIDs, ULIDs, hex and most tracing ids fit. Bounded, and safe in any log or header. */
const SAFE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Request ids: a safe `X-Request-Id` from the client (or a proxy in front) is kept, so one id
 * follows a request across systems; otherwise the gateway makes one. Made ones are a random
 * per-process prefix and a counter (`3f9a1c07-1k`), which is unique across nodes and restarts
 * without any per-request randomness.
 */
export class RequestIds {
  readonly #prefix: string;
  #counter = 0;

  constructor(prefix = randomBytes(4).toString('hex')) {
    this.#prefix = `${prefix}-`;
  }

  next(): string {
    return this.#prefix + (++this.#counter).toString(36);
  }

  /** The request's own id when it sent exactly one safe `X-Request-Id`, else a new one. */
  forRequest(rawHeaders: readonly string[]): string {
    let found: string | null = null;
    for (let index = 0; index < rawHeaders.length; index += 2) {
      const name = rawHeaders[index] as string;
      if (name.length !== HEADER.length || name.toLowerCase() !== HEADER) continue;
      if (found !== null) return this.next();
      found = rawHeaders[index + 1] as string;
    }
    return found !== null && SAFE_REQUEST_ID.test(found) ? found : this.next();
  }
}
