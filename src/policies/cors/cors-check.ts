import { ANSWERED, type Check } from '../request-context.ts';
import type { CorsPolicy } from './cors-policy.ts';
import { withGatewayCors } from './cors-response-headers.ts';

const PREFLIGHT_VARY = 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers';

/**
 * Stage 5, before route matching, when a CORS policy is configured.
 *
 * A preflight (`OPTIONS` with `Origin` and `Access-Control-Request-Method`) is answered here,
 * 204, without a key and without reaching the upstream: browsers never send credentials on a
 * preflight. An allowed origin gets the CORS headers; any other gets none, which is how a
 * browser learns it may not call. Other requests pass on; an allowed origin's CORS headers are
 * set on whatever answers them (a denial or the upstream's response, whose own
 * `Access-Control-*` headers are then dropped on the response side: two policies would
 * contradict each other). `Vary: Origin` is always set, so a cache never serves one origin's
 * answer to another.
 */
export function createCorsCheck(policy: CorsPolicy): Check {
  return {
    name: 'cors',
    run(context) {
      const { req, res } = context;
      const origin = req.headers.origin;
      const requestedMethod = req.headers['access-control-request-method'];
      if (req.method === 'OPTIONS' && origin !== undefined && requestedMethod !== undefined) {
        // No Content-Length: RFC 9110 §8.6 forbids it on 204.
        const headers = ['vary', PREFLIGHT_VARY];
        const allowOrigin = policy.allowOriginValue(origin);
        const requestedHeaders = req.headers['access-control-request-headers'];
        if (allowOrigin !== null && policy.allowsPreflight(requestedMethod, requestedHeaders)) {
          headers.push('access-control-allow-origin', allowOrigin, 'access-control-allow-methods', policy.allowMethods, 'access-control-max-age', policy.maxAgeSeconds);
          if (policy.allowHeaders !== '') headers.push('access-control-allow-headers', policy.allowHeaders);
          if (policy.allowCredentials) headers.push('access-control-allow-credentials', 'true');
        }
        req.resume();
        res.writeHead(204, headers);
        res.end();
        return ANSWERED;
      }
      res.setHeader('vary', 'Origin');
      if (origin === undefined) return null;
      const allowOrigin = policy.allowOriginValue(origin);
      if (allowOrigin === null) return null;
      res.setHeader('access-control-allow-origin', allowOrigin);
      if (policy.allowCredentials) res.setHeader('access-control-allow-credentials', 'true');
      if (policy.exposeHeaders !== null) res.setHeader('access-control-expose-headers', policy.exposeHeaders);
      return null;
    },
    onUpstreamResponse(context, headers) {
      return withGatewayCors(headers, context.res.getHeader('vary') as string | undefined);
    },
  };
}
