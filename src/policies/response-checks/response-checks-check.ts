import { isJsonMediaType, parseContentType } from '../../http/media-type.ts';
import { documentedResponse, type ResponseShape } from '../../routes/operation-responses.ts';
import type { Check, RequestContext, ResponseBodyTap } from '../request-context.ts';
import type { ResponseCheckOutcome, ResponseFinding, ResponseFindings } from '../response-findings.ts';
import { DEFAULT_WALK_LIMITS, walkResponse, type WalkLimits } from './response-walker.ts';

/**
 * Response checks in report mode (`openapi.responseChecks`): for a sample of the requests whose
 * route matched an operation with documented responses, the upstream's status is looked up in
 * the description, and a JSON body is copied as it streams to the client (never more than
 * `maxBodySize`; a larger one is not checked) and, once the response has been sent, parsed and
 * walked against its documented shape (response-walker.ts). Findings go to the would-deny
 * report. Nothing the client receives changes, and nothing waits for the check: the copy is
 * taken after each chunk is written, the work is done on a later turn of the event loop.
 */

export interface ResponseCheckSettings {
  /** Share of requests checked, 0 to 1; 0: none. */
  readonly sampleRate: number;
  /** Largest body copied and read, in bytes. */
  readonly maxBodySize: number;
}

export interface ResponseChecksOptions {
  /** Each API's settings, by its index; null for an API without response checks. */
  readonly apis: ReadonlyArray<ResponseCheckSettings | null>;
  readonly findings: ResponseFindings;
  /** Bodies being copied at once, at most; further sampled responses only have their status checked (`busy`). Default 64. */
  readonly maxConcurrentBodies?: number;
  readonly walkLimits?: WalkLimits;
  /** A number in [0, 1), for sampling; injected by tests. */
  readonly random?: () => number;
}

const DEFAULT_MAX_CONCURRENT_BODIES = 64;
const NO_PATHS: readonly string[] = Object.freeze([]);

/** Statuses that never have a body (RFC 9110 §15.3.5, §15.4.5). */
function hasNoBody(method: string, status: number): boolean {
  return method === 'HEAD' || status === 204 || status === 304;
}

/** The first value of `name` (lower case) among flat header pairs. */
function headerValue(headers: readonly string[], name: string): string | undefined {
  for (let index = 0; index < headers.length; index += 2) if ((headers[index] as string).toLowerCase() === name) return headers[index + 1];
  return undefined;
}

/** Shared by every tap of one check: the settings and the count of bodies being copied. */
class ResponseChecker {
  readonly findings: ResponseFindings;
  readonly walkLimits: WalkLimits;
  readonly maxConcurrentBodies: number;
  copying = 0;

  constructor(options: ResponseChecksOptions) {
    this.findings = options.findings;
    this.walkLimits = options.walkLimits ?? DEFAULT_WALK_LIMITS;
    this.maxConcurrentBodies = options.maxConcurrentBodies ?? DEFAULT_MAX_CONCURRENT_BODIES;
  }
}

/** One sampled response: its status finding, and the copy of its JSON body when it is read. */
class SampledResponse implements ResponseBodyTap {
  readonly #checker: ResponseChecker;
  readonly #context: RequestContext;
  readonly #status: number;
  readonly #findings: ResponseFinding[] = [];
  /** The documented shape of the body being copied; null when the body is not read. */
  #shape: ResponseShape | null = null;
  #limit = 0;
  #chunks: Buffer[] = [];
  #bytes = 0;
  #outcome: ResponseCheckOutcome = 'checked';

  constructor(checker: ResponseChecker, context: RequestContext, status: number) {
    this.#checker = checker;
    this.#context = context;
    this.#status = status;
  }

  undocumentedStatus(): void {
    this.#findings.push({ code: 'response_undocumented_status', paths: NO_PATHS, truncated: false });
  }

  /** Reads the body if it can: JSON, not encoded, not declared larger than the limit, and a copy free. */
  readBody(shape: ResponseShape, headers: readonly string[], limit: number): void {
    const type = headerValue(headers, 'content-type');
    const essence = type === undefined ? null : (parseContentType(type)?.essence ?? null);
    if (essence === null || !isJsonMediaType(essence)) return;
    const encoding = headerValue(headers, 'content-encoding');
    if (encoding !== undefined && encoding.trim().toLowerCase() !== 'identity') {
      this.#outcome = 'encoded';
      return;
    }
    const length = headerValue(headers, 'content-length');
    if (length !== undefined && Number(length) > limit) {
      this.#outcome = 'too_large';
      return;
    }
    if (this.#checker.copying >= this.#checker.maxConcurrentBodies) {
      this.#outcome = 'busy';
      return;
    }
    this.#checker.copying++;
    this.#shape = shape;
    this.#limit = limit;
  }

  data(chunk: Buffer): void {
    if (this.#shape === null) return;
    if (this.#bytes + chunk.length > this.#limit) {
      this.#stopCopying('too_large');
      return;
    }
    // A copy: the chunk is the client's response, still being written.
    this.#chunks.push(Buffer.from(chunk));
    this.#bytes += chunk.length;
  }

  end(): void {
    setImmediate(judge, this);
  }

  abort(): void {
    this.#stopCopying('aborted');
    this.#report();
  }

  /** After the response has been sent: parse and walk the copied body, then report. */
  judge(): void {
    const shape = this.#shape;
    if (shape !== null) {
      const body = this.#chunks.length === 1 ? (this.#chunks[0] as Buffer) : Buffer.concat(this.#chunks, this.#bytes);
      this.#stopCopying('checked');
      this.#walk(body, shape);
    }
    this.#report();
  }

  #walk(body: Buffer, shape: ResponseShape): void {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch {
      this.#findings.push({ code: 'response_schema_mismatch', paths: ['$'], truncated: false });
      return;
    }
    const walked = walkResponse(parsed, shape, this.#checker.walkLimits);
    if (walked.undocumented.length > 0) this.#findings.push({ code: 'response_undocumented_field', paths: walked.undocumented, truncated: walked.truncated });
    if (walked.mismatched.length > 0) this.#findings.push({ code: 'response_schema_mismatch', paths: walked.mismatched, truncated: walked.truncated });
  }

  #stopCopying(outcome: ResponseCheckOutcome): void {
    if (this.#shape === null) return;
    this.#shape = null;
    this.#chunks = [];
    this.#checker.copying--;
    this.#outcome = outcome;
  }

  #report(): void {
    this.#checker.findings.recordResponse(this.#context, this.#status, this.#outcome, this.#findings);
  }
}

function judge(sampled: SampledResponse): void {
  sampled.judge();
}

/** The response-checks check: it passes every request, and samples responses in `onUpstreamResponse`. Null when no API has response checks. */
export function createResponseChecks(options: ResponseChecksOptions): Check | null {
  const apis = options.apis;
  if (!apis.some((settings) => settings !== null && settings.sampleRate > 0)) return null;
  const checker = new ResponseChecker(options);
  const random = options.random ?? Math.random;
  return {
    name: 'response-checks',
    run: passes,
    onUpstreamResponse(context, headers, status) {
      const responses = context.operation?.responses;
      if (responses === undefined || context.api === null) return headers;
      const settings = apis[context.api.index] ?? null;
      if (settings === null || !(random() < settings.sampleRate)) return headers;
      const sampled = new SampledResponse(checker, context, status);
      const documented = documentedResponse(responses, status);
      if (documented === undefined) sampled.undocumentedStatus();
      else if (documented !== null && !hasNoBody(context.req.method as string, status)) sampled.readBody(documented, headers, settings.maxBodySize);
      context.responseTap = sampled;
      return headers;
    },
  };
}

function passes(): null {
  return null;
}
