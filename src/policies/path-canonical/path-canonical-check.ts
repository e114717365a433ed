import { canonicaliseTarget, pathLengthOf, type NonCanonicalPolicy } from '../../http/canonical-path.ts';
import { denial, type Denial } from '../../http/error-catalogue.ts';
import type { Check } from '../request-context.ts';

/**
 * Stage 1, after request-sanity: the path in its one canonical form (http/canonical-path.ts),
 * which every later stage matches and the proxy forwards. A non-canonical path is refused
 * (400 path_not_canonical) or, with `paths.nonCanonical: normalise`, rewritten.
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
      context.upstreamPath = canonical;
      const pathLength = pathLengthOf(canonical);
      context.path = pathLength === canonical.length ? canonical : canonical.slice(0, pathLength);
      return null;
    },
  };
}
