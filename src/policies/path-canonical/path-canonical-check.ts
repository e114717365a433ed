import { canonicaliseTarget, pathLengthOf, type NonCanonicalPolicy } from '../../http/canonical-path.ts';
import { denial, type Denial } from '../../http/error-catalogue.ts';
import type { Check } from '../request-context.ts';

/**
 * A raw `;` in the query. Some servers split the query on `;` as well as `&` (Python's
 * `parse_qs` and `cgi` before 3.9.2, Go before 1.17, Perl's CGI.pm, Rack before 3.0), others
 * do not (the WHATWG URL parser, Node; Go since 1.17 drops the pair): in `?role=user;role=admin` one reads two values and another
 * one. `%3B` is a `;` inside a value to all of them.
 */
const QUERY_SEMICOLON = denial('request_invalid', 'The query contains a raw ";", which some servers read as a parameter separator; send it percent-encoded (%3B).');

/**
 * Stage 1, after request-sanity: the path in its one canonical form (http/canonical-path.ts),
 * which every later stage matches and the proxy forwards. A non-canonical path is refused
 * (400 path_not_canonical) or, with `paths.nonCanonical: normalise`, rewritten. The query is
 * forwarded as sent, so a query some servers split differently (a raw `;`) is refused
 * (400 request_invalid) under either setting.
 */
export function createPathCanonicalCheck(policy: NonCanonicalPolicy): Check {
  const denials = new Map<string, Denial>();
  const denialFor = (detail: string): Denial => {
    let found = denials.get(detail);
    if (found === undefined) denials.set(detail, (found = denial('path_not_canonical', detail)));
    return found;
  };
  return {
    name: 'path-canonical',
    run(context) {
      const canonical = canonicaliseTarget(context.upstreamPath, policy);
      if (typeof canonical !== 'string') return denialFor(canonical.detail);
      const pathLength = pathLengthOf(canonical);
      if (pathLength !== canonical.length && canonical.indexOf(';', pathLength) !== -1) return QUERY_SEMICOLON;
      context.upstreamPath = canonical;
      context.path = pathLength === canonical.length ? canonical : canonical.slice(0, pathLength);
      return null;
    },
  };
}
