import { operationsOf, routesOf, type Policy } from '../policy.ts';
import { withReportMode, type ReportOnlySettings } from '../report-only.ts';
import { createScopeCheck } from './scope-check.ts';

/** Stage 7: the key holds the scopes its operation requires. Only when some operation requires scopes. */
export const scopes: Policy<never, ReportOnlySettings> = {
  name: 'scopes',
  stage: 7,
  config: null,
  create: (config, parts) => withReportMode(routesOf(parts).some((routes) => routes.operations.some((operation) => operation.scopes !== null)) ? createScopeCheck() : null, config, 'scopes', operationsOf(parts)),
};

