/**
 * Which of several APIs a request is for, by its host name and its path (`apis` in the config).
 * A pure mechanism: it knows host patterns and path prefixes, nothing of the pipeline.
 *
 * An API matches by host names (exact, `orders.example.com`, or wildcard, `*.example.com`: one
 * or more labels in front of `.example.com`, never `example.com` itself), by a path prefix
 * (whole segments: `/orders` matches `/orders` and `/orders/1`, not `/ordersX`), by both, or by
 * neither (every request). The first match wins in this order: an exact host before a wildcard,
 * a longer wildcard before a shorter one, a host before no host; then, among the APIs of that
 * host, the longest prefix. An API whose host matches but whose prefix does not is no match, so
 * the search goes on to the next host rule (as Kong's routes do, unlike nginx's `server` blocks).
 */

/** What an API matches, as the config declares it (host patterns in lower case). */
export interface ApiMatchRule {
  readonly hosts: readonly string[];
  /** `''` for none; otherwise `/` and segments, without a trailing `/`. */
  readonly pathPrefix: string;
}

/** The index of the API in the list, or NO_API. */
export const NO_API = -1;

/** A host pattern: an exact name or `*.` and a name; names are letters, digits, `-` and `.`, labels not empty. */
const HOST_NAME = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/i;

/**
 * Whether `value` is a host pattern an API may name: `orders.example.com` or `*.example.com`
 * (the wildcard only as the whole first label, over at least two labels: `*.com` is refused as
 * too broad). No port, no trailing dot, no IP literal in brackets.
 *
 * @example isHostPattern('*.example.com') // true
 * @example isHostPattern('a*.example.com') // false
 */
export function isHostPattern(value: string): boolean {
  if (value.startsWith('*.')) {
    const rest = value.slice(2);
    return HOST_NAME.test(rest) && rest.includes('.');
  }
  return HOST_NAME.test(value);
}

/**
 * The host name a `Host` value names, as APIs are matched: lower case, without the port and
 * without one trailing dot (`Orders.Example.com.:8443` → `orders.example.com`). The value has
 * passed stage 1 (`isValidHost`), so a `:` outside brackets starts the port. A value that is
 * already a bare lower-case name (the usual one) is returned as it is, without allocating.
 *
 * @example hostNameOf('API.example.com:8443') // 'api.example.com'
 */
export function hostNameOf(host: string): string {
  let end = host.length;
  let upperCase = false;
  if (host.charCodeAt(0) === 91 /* [ */) end = host.indexOf(']') + 1;
  else {
    for (let index = 0; index < host.length; index++) {
      const code = host.charCodeAt(index);
      if (code === 58 /* : */) {
        end = index;
        break;
      }
      if (code >= 65 && code <= 90) upperCase = true;
    }
  }
  if (end > 1 && host.charCodeAt(end - 1) === 46 /* . */) end--;
  const name = end === host.length ? host : host.slice(0, end);
  return upperCase || name.charCodeAt(0) === 91 ? name.toLowerCase() : name;
}

/** Whether `path` is `prefix` or starts with `prefix` and then `/`. */
function hasPathPrefix(path: string, prefix: string): boolean {
  if (prefix === '') return true;
  if (!path.startsWith(prefix)) return false;
  return path.length === prefix.length || path.charCodeAt(prefix.length) === 47 /* / */;
}

/** The first segment of a path (`orders` of `/orders/1`), or of a prefix. */
function firstSegmentOf(path: string): string {
  const end = path.indexOf('/', 1);
  return end === -1 ? path.slice(1) : path.slice(1, end);
}

/**
 * The APIs that share one host rule (or that have no host), by path prefix: indexed by the
 * prefix's first segment, so that many prefixes cost one map lookup; within a segment, the
 * longest prefix first; APIs without a prefix last.
 */
class PrefixIndex {
  readonly #bySegment = new Map<string, Array<{ index: number; prefix: string }>>();
  /** The first API without a prefix, or NO_API. */
  #anyPath = NO_API;

  add(index: number, prefix: string): void {
    if (prefix === '') {
      if (this.#anyPath === NO_API) this.#anyPath = index;
      return;
    }
    const segment = firstSegmentOf(prefix);
    const list = this.#bySegment.get(segment) ?? [];
    list.push({ index, prefix });
    list.sort((a, b) => b.prefix.length - a.prefix.length || a.index - b.index);
    this.#bySegment.set(segment, list);
  }

  match(path: string): number {
    if (this.#bySegment.size > 0) {
      const list = this.#bySegment.get(firstSegmentOf(path));
      if (list !== undefined) for (const candidate of list) if (hasPathPrefix(path, candidate.prefix)) return candidate.index;
    }
    return this.#anyPath;
  }
}

/**
 * The APIs compiled once at start into lookups: exact hosts in a map, wildcard suffixes in a
 * map (looked up for each suffix of the name, longest first), host-less APIs last; each by
 * path prefix (PrefixIndex). A request costs a few map lookups however many APIs there are.
 *
 * @example
 * const matcher = new ApiMatcher([{ hosts: ['orders.example.com'], pathPrefix: '' }, { hosts: [], pathPrefix: '/billing' }]);
 * matcher.match('orders.example.com:443', '/x') // 0
 * matcher.match('other.example.com', '/billing/1') // 1
 */
export class ApiMatcher {
  readonly #exact = new Map<string, PrefixIndex>();
  /** By suffix with its dot: `.example.com` for `*.example.com`. */
  readonly #wildcards = new Map<string, PrefixIndex>();
  readonly #anyHost = new PrefixIndex();
  readonly #byHost: boolean;

  constructor(rules: readonly ApiMatchRule[]) {
    rules.forEach((rule, index) => {
      if (rule.hosts.length === 0) this.#anyHost.add(index, rule.pathPrefix);
      for (const pattern of rule.hosts) {
        const lower = pattern.toLowerCase();
        const wildcard = lower.startsWith('*.');
        const into = wildcard ? this.#wildcards : this.#exact;
        const key = wildcard ? lower.slice(1) : lower;
        let prefixes = into.get(key);
        if (prefixes === undefined) into.set(key, (prefixes = new PrefixIndex()));
        prefixes.add(index, rule.pathPrefix);
      }
    });
    this.#byHost = this.#exact.size > 0 || this.#wildcards.size > 0;
  }

  /**
   * The index of the API for a request, or NO_API. `host` is the request's one `Host` value
   * (undefined without one: only host-less APIs can match); `path` its canonical path without
   * the query.
   */
  match(host: string | undefined, path: string): number {
    if (host !== undefined && this.#byHost) {
      const name = hostNameOf(host);
      const found = this.#exact.get(name)?.match(path) ?? NO_API;
      if (found !== NO_API) return found;
      if (this.#wildcards.size > 0) {
        // Each suffix after a label, longest first: `a.b.example.com` tries `.b.example.com`, then `.example.com`, then `.com`.
        for (let dot = name.indexOf('.'); dot > 0; dot = name.indexOf('.', dot + 1)) {
          const wildcard = this.#wildcards.get(name.slice(dot))?.match(path) ?? NO_API;
          if (wildcard !== NO_API) return wildcard;
        }
      }
    }
    return this.#anyHost.match(path);
  }
}

/**
 * The path sent upstream once `prefix` is stripped from it: the rest, or `/` when nothing is
 * left (`/orders?x=1` without `/orders` is `/?x=1`). `path` starts with the prefix on a
 * segment boundary (the API matched it).
 *
 * @example stripPathPrefix('/orders/1?x=2', '/orders') // '/1?x=2'
 */
export function stripPathPrefix(pathAndQuery: string, prefix: string): string {
  const rest = pathAndQuery.slice(prefix.length);
  return rest === '' || rest.charCodeAt(0) === 63 /* ? */ ? `/${rest}` : rest;
}
