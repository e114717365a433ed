import type { Policy } from '../policy.ts';
import { headersConfig, type HeadersSettings } from './headers-config.ts';
import { createRequestSanityCheck } from './request-sanity-check.ts';

/** What the check reads besides its own options: the headers other parts make the gateway read (the key headers, the client-address header). */
interface RequestSanityNeeds extends HeadersSettings {
  keys: { headers: string[] };
  network: { clientAddressHeader: string };
}

/** Stage 1: a method the gateway forwards, a request target in origin form, one valid Host, and headers every server reads alike. Always on. */
export const requestSanity: Policy<HeadersSettings, RequestSanityNeeds> = {
  name: 'request-sanity',
  stage: 1,
  config: headersConfig,
  create: (config) =>
    createRequestSanityCheck({
      underscores: config.headers.underscores,
      allowUnderscores: config.headers.allowUnderscores,
      methodOverride: config.headers.methodOverride,
      configuredHeaders: [...config.keys.headers, config.network.clientAddressHeader],
    }),
};
