import type { Policy } from '../policy.ts';
import { createApiMatchCheck } from './api-match-check.ts';

/** Stage 5: the API the request is for (`apis`), before its routes. Only with several APIs, or one that does not match everything. */
export const apiMatch: Policy<never, unknown> = {
  name: 'api-match',
  stage: 5,
  config: null,
  create: (_config, parts) => createApiMatchCheck(parts.apis ?? []),
};
