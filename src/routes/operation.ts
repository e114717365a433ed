import type { ScopeRequirement } from './scopes.ts';
import type { CompiledRate } from '../limits/rate-policy.ts';
import type { OperationValidation } from './operation-validation.ts';
import type { OperationResponses } from './operation-responses.ts';

/** One method on one path template: what the route table finds for a request. Compiled at start. */
export interface Operation {
  readonly method: string;
  /** The path template as written (with `openapi.basePath` in front). */
  readonly template: string;
  /** Where it was defined, for messages: `openapi.yaml#/paths/~1orders/post` or `routes[2]`. */
  readonly source: string;
  /** Scopes the key must hold; null when none are required. */
  readonly scopes: ScopeRequirement | null;
  /** The operation's own body limit in bytes; null means the global limit. */
  readonly maxBodySize: number | null;
  /** Rate limit per key on this operation (`x-portcullis-rate`, or a route rule's `rate`); null: none. */
  readonly rate: CompiledRate | null;
  /** Parameters and body as the OpenAPI document describes them; null for route rules. */
  readonly validation: OperationValidation | null;
  /**
   * The policies that only report on this operation (`x-portcullis-report-only`, or a route
   * rule's `reportOnly`): any of ROUTE_REPORTABLE_POLICIES. Absent or empty: as configured globally.
   */
  readonly reportOnly?: ReadonlySet<string>;
  /** What the description documents about its responses; absent unless response checks are on for its API (`openapi.responseChecks`). */
  readonly responses?: OperationResponses;
}

/** The policies that can report on one route only: those that run after the route is known. */
export const ROUTE_REPORTABLE_POLICIES: readonly string[] = ['scopes', 'input-validation', 'rate-limits', 'quotas'];
