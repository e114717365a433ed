import { countRawHeader } from '../../http/raw-headers.ts';
import { denial, type Denial } from '../../http/error-catalogue.ts';
import { continueIfAwaited } from '../../http/expect-continue.ts';
import type { Check, CheckOutcome, RequestContext } from '../request-context.ts';
import { afterReported, type ReportWhere } from '../report-only.ts';
import type { Operation } from '../../routes/operation.ts';
import { bodyTooLarge, limitedBody, readBoundedBody } from '../../http/request-body.ts';
import { isJsonMediaType, matchMediaType, parseContentType } from '../../http/media-type.ts';
import type { BodyMediaType, OperationValidation } from '../../routes/operation-validation.ts';
import { BufferedBodyBudget, type BodyReservation } from './buffered-body-budget.ts';
import { collectHeaderParameters, collectPathParameters, collectQueryParameters, refuseConnectionNamedParameters } from './request-parameters.ts';
import { parseStrictJsonBody, StrictJsonError } from './strict-json.ts';
import { fromSchemaErrors, invalidAt, pointerWithin } from './validation-errors.ts';

export interface InputValidationOptions {
  /** Limit for bodies streamed to the upstream, unless the operation sets its own. */
  maxBodySize: number;
  /** Limit for JSON bodies the gateway reads to validate, unless the operation sets its own. */
  maxJsonBodySize: number;
  maxJsonDepth: number;
  /** Bytes all the bodies read for validation may hold at once, across every request of the process. */
  maxBufferedBytes: number;
}

const NO_BODY_DECLARED = invalidAt('/body', 'this operation takes no request body');
const BODY_REQUIRED = invalidAt('/body', 'is required');
const VALIDATION_BUSY = denial('validation_busy', null, [['retry-after', '1']]);
const EMPTY: readonly string[] = [];

/** Whether the request's Content-Length (Node has refused malformed ones) is above `limit`. */
function declaresMoreThan(context: RequestContext, limit: number): boolean {
  return context.contentLength !== undefined && Number(context.contentLength) > limit;
}

function unsupported(detail: string): Denial {
  return denial('unsupported_media_type', detail);
}

/**
 * The refusals of what the gateway and the upstream could read differently (a Content-Type sent
 * twice, a repeated media-type parameter, a validated header named in Connection): they enforce
 * in report mode too, since what the gateway read is then not what the upstream gets.
 */
const AMBIGUITY_REFUSALS = new WeakSet<Denial>();

function ambiguity(refused: Denial): Denial {
  AMBIGUITY_REFUSALS.add(refused);
  return refused;
}

const CONTENT_TYPE_REPEATED = ambiguity(invalidAt('/headers/content-type', 'must appear once'));

/** In report mode: the denials that go on as would-denies (not size limits, the budget, or ambiguity). */
function reportsValidation(refused: Denial): boolean {
  return (refused.code === 'request_invalid' || refused.code === 'unsupported_media_type') && !AMBIGUITY_REFUSALS.has(refused);
}

/**
 * Stage 9: the request against its operation's description, and bodies against size limits.
 *
 * - Parameters (path, query, headers) are read strictly and checked by the compiled schema;
 *   headers as they will be forwarded.
 * - A body must be declared, of a declared media type (else 415), and within the limit (413).
 * - A JSON body is read (never beyond its limit, nor beyond what the process's budget of
 *   buffered bytes has left: else 503), parsed strictly (strict-json.ts) and checked; then
 *   exactly the bytes received are forwarded. Every other body is streamed, under its limit,
 *   without being held.
 * Without an operation (no routes configured) or without a description (route rules), only
 * the size limit applies.
 *
 * In report mode, a request that fails validation is made ready to forward as if it had none
 * (a body not yet read streams under the size limit; one read is forwarded as read), and its
 * first failure is a would-deny (`reports`). Size limits, the budget and ambiguity still refuse.
 */
class InputValidationCheck implements Check {
  readonly name = 'input-validation';
  readonly reports?: (refused: Denial, context: RequestContext) => boolean;
  /** Where validation only reports (report-only.ts); null: it refuses everywhere. */
  readonly #report: ReportWhere;
  readonly #maxBodySize: number;
  readonly #maxJsonBodySize: number;
  readonly #maxJsonDepth: number;
  readonly #budget: BufferedBodyBudget;

  constructor(options: InputValidationOptions, report: ReportWhere) {
    this.#report = report;
    if (report !== null) this.reports = (refused, context) => reportsValidation(refused) && report(context);
    this.#maxBodySize = options.maxBodySize;
    this.#maxJsonBodySize = options.maxJsonBodySize;
    this.#maxJsonDepth = options.maxJsonDepth;
    this.#budget = new BufferedBodyBudget(options.maxBufferedBytes);
  }

  run(context: RequestContext): CheckOutcome {
    const operation = context.operation;
    if (operation === null) return limitStream(context, this.#maxBodySize);
    const validation = operation.validation;
    if (validation === null) return limitStream(context, operation.maxBodySize ?? this.#maxBodySize);
    const refused = checkParameters(context, validation);
    if (refused === null) return this.#checkBody(context, operation, validation);
    if (this.#report === null || !reportsValidation(refused) || !this.#report(context)) return refused;
    return afterReported(reportsValidation, refused, this.#checkBody(context, operation, validation));
  }

  /** A body refusal before the body is read; in report mode the body then streams as an unvalidated one would, under its size limit. */
  #refuseUnread(context: RequestContext, operation: Operation, refused: Denial): Denial {
    if (this.#report === null || !this.#report(context)) return refused;
    return limitStream(context, operation.maxBodySize ?? this.#maxBodySize) ?? refused;
  }

  #checkBody(context: RequestContext, operation: Operation, validation: OperationValidation): CheckOutcome {
    const req = context.req;
    const body = validation.body;
    if (!context.hasBody) return body !== null && body.required ? BODY_REQUIRED : null;
    if (body === null) return this.#refuseUnread(context, operation, NO_BODY_DECLARED);
    // Two Content-Type lines: the gateway would read one and the upstream perhaps the other.
    if (countRawHeader(req.rawHeaders, 'content-type') > 1) return CONTENT_TYPE_REPEATED;
    const header = req.headers['content-type'];
    if (header === undefined) return this.#refuseUnread(context, operation, unsupported(`The request body needs a Content-Type this operation accepts: ${body.accepted}.`));
    const contentType = parseContentType(header);
    if (contentType === null) return this.#refuseUnread(context, operation, unsupported(`The Content-Type is not a valid media type with parameters (RFC 9110 §8.3.1); this operation accepts ${body.accepted}.`));
    // `charset=utf-8; charset=latin1`: the gateway would read one and the upstream perhaps the other.
    if (contentType.repeated !== null) return ambiguity(invalidAt('/headers/content-type', `names the parameter ${JSON.stringify(contentType.repeated)} more than once`));
    const index = matchMediaType(contentType.essence, body.names);
    if (index === -1) return this.#refuseUnread(context, operation, unsupported(`This operation accepts ${body.accepted}.`));
    const media = body.mediaTypes[index] as BodyMediaType;
    if (!media.json || !isJsonMediaType(contentType.essence)) return limitStream(context, operation.maxBodySize ?? this.#maxBodySize);
    if (contentType.charset !== null && contentType.charset !== 'utf-8' && contentType.charset !== 'utf8') return this.#refuseUnread(context, operation, unsupported('JSON bodies must be UTF-8.'));
    const encoding = req.headers['content-encoding'];
    if (encoding !== undefined && encoding.toLowerCase() !== 'identity') return this.#refuseUnread(context, operation, unsupported('A JSON body that this operation validates cannot be compressed (Content-Encoding).'));
    // No body held for validation is larger than the whole budget.
    const limit = Math.min(operation.maxBodySize ?? this.#maxJsonBodySize, this.#budget.capacity);
    if (declaresMoreThan(context, limit)) return bodyTooLarge(limit);
    // Reserved before a byte is read: the declared length, or the whole limit when it is not known.
    const reservation = this.#budget.reserve(context.contentLength === undefined ? limit : Number(context.contentLength));
    if (reservation === null) return VALIDATION_BUSY;
    context.res.once('close', reservation.release);
    return this.#readJson(context, media, limit, reservation);
  }

  /** Reads the body (never beyond `limit`), parses it strictly and validates it; the bytes read are what is forwarded. */
  async #readJson(context: RequestContext, media: BodyMediaType, limit: number, reservation: BodyReservation): Promise<Denial | null> {
    continueIfAwaited(context.res);
    const body = await readBoundedBody(context.req, limit);
    if (!Buffer.isBuffer(body)) return body;
    reservation.shrinkTo(body.length);
    // Exactly the bytes received are forwarded: a refused request is not forwarded at all, and in
    // report mode an invalid body goes on as read.
    context.forwardBody = body;
    let value: unknown;
    try {
      value = parseStrictJsonBody(body, this.#maxJsonDepth);
    } catch (error) {
      if (error instanceof StrictJsonError) return invalidAt(pointerWithin('/body', error.path), `is not acceptable JSON: ${error.message}`);
      throw error;
    }
    const validate = media.validate;
    if (validate !== null && !validate(value)) return fromSchemaErrors(validate.errors, '/body');
    return null;
  }
}

/** The stage-9 check; `report`: validation failures are would-denies (report-only mode). */
export function createInputValidationCheck(options: InputValidationOptions, report: ReportWhere | boolean = false): Check {
  return new InputValidationCheck(options, report === true ? () => true : report === false ? null : report);
}

/** A streamed body under `limit`: refused now when its declared length is larger, else counted as it passes. */
function limitStream(context: RequestContext, limit: number): Denial | null {
  // Content-Length and Transfer-Encoding as the request-header scanner found them.
  if (!context.hasBody) return null;
  if (declaresMoreThan(context, limit)) return bodyTooLarge(limit);
  if (context.contentLength === undefined && context.chunked) context.forwardBody = limitedBody(context.req, limit);
  return null;
}

/**
 * The header lines the upstream will get from the client: without hop-by-hop headers, those
 * `Connection` names and what the gateway keeps back or writes itself. Of the ones it writes,
 * `X-Request-Id` carries the client's own value when it was safe (telemetry/request-id.ts), so
 * that value is checked too, when the operation declares it.
 */
function forwardedHeaders(context: RequestContext, validation: OperationValidation): readonly string[] {
  const clientId = context.requestIdHeader;
  if (typeof clientId !== 'string' || clientId !== context.requestId || !validation.headers.some((spec) => spec.key === 'x-request-id')) return context.upstreamHeaders;
  return [...context.upstreamHeaders, 'X-Request-Id', clientId];
}

/** Path, query and header parameters, read strictly and checked against the operation's compiled schema. */
function checkParameters(context: RequestContext, validation: OperationValidation): Denial | null {
  const validate = validation.validateParameters;
  const target = context.upstreamPath;
  const queryStart = target.indexOf('?');
  const hasQuery = queryStart !== -1 && queryStart < target.length - 1;
  if (validate === null && !(hasQuery && validation.refuseUnknownQuery)) return null;
  const data: Record<string, unknown> = {};
  if (validation.path.length > 0) {
    const path: Record<string, unknown> = {};
    const refused = collectPathParameters(validation.path, context.pathParameters ?? EMPTY, path);
    if (refused !== null) return refused;
    data.path = path;
  }
  if (validation.query.length > 0 || hasQuery) {
    const query: Record<string, unknown> = {};
    const refused = collectQueryParameters(validation.query, hasQuery ? target.slice(queryStart + 1) : '', validation.refuseUnknownQuery, query);
    if (refused !== null) return refused;
    data.query = query;
  }
  if (validation.headers.length > 0) {
    const named = refuseConnectionNamedParameters(validation.headers, context.connectionNamed);
    if (named !== null) return ambiguity(named);
    const headers: Record<string, unknown> = {};
    const refused = collectHeaderParameters(validation.headers, forwardedHeaders(context, validation), headers);
    if (refused !== null) return refused;
    data.headers = headers;
  }
  if (validate !== null && !validate(data)) return fromSchemaErrors(validate.errors, '');
  return null;
}
