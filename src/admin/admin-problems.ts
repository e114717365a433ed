import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { denial, type ErrorCode, type ProblemError } from '../http/error-catalogue.ts';
import { PROBLEM_CONTENT_TYPE, problemBody } from '../http/problem-response.ts';
import { StoredValueError } from '../store/stored-values.ts';

/**
 * The admin API answers every error as RFC 9457 problem+json with a stable `code`, like the
 * gateway. Details are written here, from bounded values: never a token, never request input.
 */
export function sendAdminProblem(reply: FastifyReply, code: ErrorCode, detail: string, headers: Record<string, string> = {}, errors?: readonly ProblemError[]): FastifyReply {
  const problem = denial(code, detail, undefined, errors);
  return reply
    .code(problem.status)
    .headers({ ...headers, 'content-type': PROBLEM_CONTENT_TYPE, 'cache-control': 'no-store' })
    .send(problemBody(problem));
}

/**
 * An error a route handler throws on purpose: becomes a problem with its code, and with
 * `errors` (a JSON pointer into the request and a message each) when fields were refused.
 */
export class AdminProblem extends Error {
  readonly code: ErrorCode;
  readonly errors: readonly ProblemError[] | undefined;

  constructor(code: ErrorCode, detail: string, errors?: readonly ProblemError[]) {
    super(detail);
    this.name = 'AdminProblem';
    this.code = code;
    this.errors = errors;
  }
}

/** Fastify's errors (validation, bad JSON, wrong media type, body too large) and thrown problems, as problem+json. */
export function createAdminErrorHandler(logger: Logger) {
  return function handleAdminError(error: FastifyError | AdminProblem, request: FastifyRequest, reply: FastifyReply): FastifyReply {
    if (error instanceof AdminProblem) return sendAdminProblem(reply, error.code, error.message, {}, error.errors);
    // A value no store can hold (U+0000 in metadata, a lone surrogate): the message names the field, never the value.
    if (error instanceof StoredValueError) return sendAdminProblem(reply, 'request_invalid', error.message.slice(0, 300));
    if (error.validation !== undefined) {
      // ajv's messages name the field and the rule, never the value sent.
      const where = error.validationContext ?? 'request';
      const [first] = error.validation;
      // `pointer` lets the dashboard show the message beside the field it is about.
      const errors = first === undefined ? undefined : [{ pointer: `/${where}${first.instancePath}`, message: `${first.message ?? 'is invalid'}`.slice(0, 300) }];
      return sendAdminProblem(reply, 'request_invalid', `Invalid ${where}: ${error.message.slice(0, 300)}`, {}, errors);
    }
    if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return sendAdminProblem(reply, 'request_invalid', 'Send the body as JSON (Content-Type: application/json).');
    if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return sendAdminProblem(reply, 'request_invalid', 'The request body is too large (at most 64 KB).');
    if (error.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' || error.statusCode === 400) return sendAdminProblem(reply, 'request_invalid', 'The request body is not valid JSON.');
    logger.error({ err: error, reqId: request.id }, 'admin request failed');
    return sendAdminProblem(reply, 'internal_error', 'The admin API failed to handle the request.');
  };
}
