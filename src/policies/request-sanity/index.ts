import type { Policy } from '../policy.ts';
import { createRequestSanityCheck } from './request-sanity-check.ts';

/** Stage 1: a method the gateway forwards, a request target in origin form. Always on. */
export const requestSanity: Policy<never, unknown> = {
  name: 'request-sanity',
  stage: 1,
  config: null,
  create: () => createRequestSanityCheck(),
};
