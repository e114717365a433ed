import type { Policy } from '../policy.ts';
import { createKeyPolicyCheck } from './key-policy-check.ts';

/** Stage 7: what the key record restricts (its networks, its certificate). Always on: any key may carry them. */
export const keyPolicy: Policy<never, unknown> = {
  name: 'key-policy',
  stage: 7,
  config: null,
  create: (_config, { logger }) => createKeyPolicyCheck((keyId, error) => logger.error({ err: error, keyId }, 'key has an invalid allowed CIDR; refusing every request with it')),
};
