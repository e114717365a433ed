import type { RequestContext } from './request-context.ts';

/**
 * What response checks (policies/response-checks/) find about a forwarded exchange, and where
 * they report it: the engine's would-deny report (engine/would-deny-report.ts), so findings are
 * counted, stored per minute and shown with the would-denies of report-only mode. A finding
 * never changes the response: it is made after the response has been sent.
 */

/** The codes of findings: recorded as would-deny codes, never sent to a client. */
export const RESPONSE_FINDING_CODES = ['response_undocumented_status', 'response_undocumented_field', 'response_schema_mismatch'] as const;

type ResponseFindingCode = (typeof RESPONSE_FINDING_CODES)[number];

/**
 * How a sampled response was judged: `checked` (status, and a JSON body when there is one to
 * read), or why its body was not read: `too_large` (over `openapi.responseChecks.maxBodySize`),
 * `encoded` (a Content-Encoding), `busy` (too many bodies being read at once), `aborted` (the
 * exchange broke off).
 */
export const RESPONSE_CHECK_OUTCOMES = ['checked', 'too_large', 'encoded', 'busy', 'aborted'] as const;

export type ResponseCheckOutcome = (typeof RESPONSE_CHECK_OUTCOMES)[number];

export interface ResponseFinding {
  readonly code: ResponseFindingCode;
  /** JSON paths (`$.orders[*].internalNote`), never values; empty for a status. */
  readonly paths: readonly string[];
  /** More paths were found than are listed, or the walk stopped at its bound. */
  readonly truncated: boolean;
}

export interface ResponseFindings {
  /** One sampled response with `status`, judged: how, and what was found (often nothing). */
  recordResponse(context: RequestContext, status: number, outcome: ResponseCheckOutcome, findings: readonly ResponseFinding[]): void;
}
