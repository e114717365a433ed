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
  readonly #isCredential: (value: string) => boolean;
  #counter = 0;

  /**
   * `isCredential` says whether a value is shaped like a key or token: a client that sends
   * one as its request id (by mistake) must not have it logged and forwarded.
   */
  constructor(prefix = randomBytes(4).toString('hex'), isCredential: (value: string) => boolean = () => false) {
    this.#prefix = `${prefix}-`;
    this.#isCredential = isCredential;
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
    return found !== null && SAFE_REQUEST_ID.test(found) && !this.#isCredential(found) ? found : this.next();
  }
}
