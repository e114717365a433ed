import type { Operation } from '../routes/operation.ts';

export interface ScopeSuggestion {
  scope: string;
  /** The operations that require it, such as `GET /orders/{id}`. */
  operations: string[];
}

/**
 * The scopes the gateway's routes require (the OpenAPI document's `security` and route rules'
 * `scopes`), each with the operations that need it: what the dashboard suggests when a key's
 * scopes are set. Computed once, at start.
 */
export function scopeSuggestions(operations: readonly Operation[]): ScopeSuggestion[] {
  const byScope = new Map<string, string[]>();
  for (const operation of operations) {
    for (const alternative of operation.scopes ?? []) {
      for (const scope of alternative) {
        const list = byScope.get(scope) ?? [];
        const name = `${operation.method} ${operation.template}`;
        if (!list.includes(name)) list.push(name);
        byScope.set(scope, list);
      }
    }
  }
  return [...byScope].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([scope, names]) => ({ scope, operations: names }));
}
