import type { ServerResponse } from 'node:http';
import { ERROR_CATALOGUE, problemTypeFor, type Denial } from './error-catalogue.ts';

/**
 * Renders a denial as RFC 9457 problem+json. The body never echoes a key or unbounded client
 * input: `detail` strings are written by checks, from bounded values only.
 */
export function sendProblem(res: ServerResponse, denial: Denial, requestId?: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = JSON.stringify({
    type: problemTypeFor(denial.code),
    title: ERROR_CATALOGUE[denial.code].title,
    status: denial.status,
    detail: denial.detail,
    code: denial.code,
    errors: denial.errors,
  });
  res.statusCode = denial.status;
  res.setHeader('content-type', 'application/problem+json');
  res.setHeader('content-length', Buffer.byteLength(body));
  res.setHeader('cache-control', 'no-store');
  if (requestId !== undefined) res.setHeader('x-request-id', requestId);
  if (denial.headers) for (const [name, value] of denial.headers) res.setHeader(name, value);
  res.end(body);
}
