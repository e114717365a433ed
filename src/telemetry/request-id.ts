import { randomBytes } from 'node:crypto';
import { REPEATED_HEADER } from '../http/raw-headers.ts';

const HEADER = 'x-request-id';
/** What an incoming id may look like: UUIDs, ULIDs, hex and most tracing ids fit. Bounded, and safe in any log or header. */
const SAFE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Request ids: a safe `X-Request-Id` from the client (or a proxy in front) is kept, so one id
 * follows a request across systems; otherwise the gateway makes one. Made ones are a random
 * per-process prefix and a decimal counter (`3f9a1c07-1042`), which is unique across nodes and
 * restarts without any per-request randomness (and a small integer turns into text through
 * V8's number-string cache, where base 36 would be a runtime call per request).
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
    return this.#prefix + ++this.#counter;
  }

  /**
   * The id for a request whose `X-Request-Id` is `header` (as the request-header scanner found
   * it): that value when it is safe and was sent once, else a new one.
   */
  fromHeader(header: string | null | typeof REPEATED_HEADER): string {
    return typeof header === 'string' && SAFE_REQUEST_ID.test(header) && !this.#isCredential(header) ? header : this.next();
  }

  /** The request's own id when it sent exactly one safe `X-Request-Id`, else a new one. */
  forRequest(rawHeaders: readonly string[]): string {
    let found: string | null | typeof REPEATED_HEADER = null;
    for (let index = 0; index < rawHeaders.length; index += 2) {
      const name = rawHeaders[index] as string;
      if (name.length !== HEADER.length || name.toLowerCase() !== HEADER) continue;
      found = found === null ? (rawHeaders[index + 1] as string) : REPEATED_HEADER;
    }
    return this.fromHeader(found);
  }
}
