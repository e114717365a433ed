import { denial } from '../../http/error-catalogue.ts';
import type { Check } from '../request-context.ts';
import { describeRequirement, satisfies } from '../../routes/scopes.ts';

/**
 * Stage 7 (key policy), scopes: after authentication, the key must hold the scopes the matched
 * operation requires (OpenAPI `security`, `x-portcullis-scopes`, or route rules), else 403
 * scope_missing. Only in the pipeline when some operation requires scopes.
 */
export function createScopeCheck(): Check {
  return {
    name: 'scopes',
    run(context) {
      const required = context.operation?.scopes ?? null;
      if (required === null) return null;
      const scopes = context.key?.record.scopes ?? [];
      if (satisfies(scopes, required)) return null;
      return denial('scope_missing', `This operation needs a key with the scope ${describeRequirement(required)}.`);
    },
  };
}
