import type { Policy } from '../policy.ts';
import { createScopeCheck } from './scope-check.ts';

/** Stage 7: the key holds the scopes its operation requires. Only when some operation requires scopes. */
export const scopes: Policy<never, unknown> = {
  name: 'scopes',
  stage: 7,
  config: null,
  create: (_config, parts) => (parts.routes !== null && parts.routes.operations.some((operation) => operation.scopes !== null) ? createScopeCheck() : null),
};
