import type { ServerResponse } from 'node:http';
import { ERROR_CATALOGUE, problemTypeFor, type Denial } from './error-catalogue.ts';

/**
 * The one problem+json renderer (RFC 9457), for the gateway and the admin API alike. The body
 * never echoes a key or unbounded client input: `detail` strings are written by checks, from
 * bounded values only, and `errors` are bounded where they are made.
 */

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** The problem+json body of a denial. */
export function problemBody(denial: Denial): string {
  return JSON.stringify({
    type: problemTypeFor(denial.code),
    title: ERROR_CATALOGUE[denial.code].title,
    status: denial.status,
    detail: denial.detail,
    code: denial.code,
    errors: denial.errors,
  });
}

/** Sends a denial on a `node:http` response (or drops the connection if a response has begun). */
export function sendProblem(res: ServerResponse, denial: Denial, requestId?: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = problemBody(denial);
  res.statusCode = denial.status;
  res.setHeader('content-type', PROBLEM_CONTENT_TYPE);
  res.setHeader('content-length', Buffer.byteLength(body));
  res.setHeader('cache-control', 'no-store');
  if (requestId !== undefined) res.setHeader('x-request-id', requestId);
  if (denial.headers) for (const [name, value] of denial.headers) res.setHeader(name, value);
  res.end(body);
}

/**
 * The whole HTTP/1.1 response for a denial, for the places that answer on a bare socket
 * (a CONNECT request never reaches a request handler); it closes the connection.
 */
export function problemResponseBytes(denial: Denial, reason: string): string {
  const body = problemBody(denial);
  const headers = (denial.headers ?? []).map(([name, value]) => `${name}: ${value}\r\n`).join('');
  return `HTTP/1.1 ${denial.status} ${reason}\r\ncontent-type: ${PROBLEM_CONTENT_TYPE}\r\n${headers}connection: close\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}
