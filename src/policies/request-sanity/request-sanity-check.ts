import { denial } from '../../http/error-catalogue.ts';
import { FORWARDED_METHODS } from '../../http/methods.ts';
import type { Check } from '../request-context.ts';

const ALLOWED = new Set<string>(FORWARDED_METHODS);

const METHOD_REFUSED = denial('method_not_allowed', 'This method is not forwarded by the gateway.', [['allow', FORWARDED_METHODS.join(', ')]]);
const TARGET_REFUSED = denial('request_invalid', 'The request target must be a path starting with "/" (origin form).');

/**
 * The cheapest check, first: a method the gateway forwards, and a request target in origin
 * form (`/path?query`). Absolute-form targets (`http://host/…`) are what forward proxies take;
 * accepting them would let a client name another host.
 */
export function createRequestSanityCheck(): Check {
  return {
    name: 'request-sanity',
    run(context) {
      if (!ALLOWED.has(context.req.method as string)) return METHOD_REFUSED;
      const url = context.req.url as string;
      if (url.charCodeAt(0) !== 47 /* / */ || url.charCodeAt(1) === 47 /* // would be a scheme-relative URL */) return TARGET_REFUSED;
      return null;
    },
  };
}
