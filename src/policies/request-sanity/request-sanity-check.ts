import { denial, type Denial } from '../../http/error-catalogue.ts';
import { isValidHost } from '../../http/host-header.ts';
import { FORWARDED_METHODS } from '../../http/methods.ts';
import { createProtectedHeaderTest, dashSpelling } from '../../http/protected-headers.ts';
import type { Check, RequestContext } from '../request-context.ts';

const ALLOWED = new Set<string>(FORWARDED_METHODS);
const ALLOW_HEADER = [['allow', FORWARDED_METHODS.join(', ')]] as const;

const METHOD_REFUSED = denial('method_not_allowed', 'This method is not forwarded by the gateway.', ALLOW_HEADER);
const TARGET_REFUSED = denial('request_invalid', 'The request target must be a path starting with "/" (origin form).');
const HOST_INVALID = denial('request_invalid', 'The Host header must be a host name (letters, digits and "-._~"), an IPv4 address or a bracketed IPv6 address, with an optional port.');
const HOST_REPEATED = denial('request_invalid', 'The request carries more than one Host header.');
const CONNECTION_NAMES_PROTECTED = denial('request_invalid', 'The Connection header names a header the gateway reads or sets end to end (framing, Host, a key, forwarding or identity header, or a method override), which cannot be dropped as hop-by-hop.');
const UNDERSCORE_REFUSED = denial('header_ambiguous', 'A header name contains "_" or ".", which some servers read as "-"; spell it with "-".');
const TWO_SPELLINGS = denial('header_ambiguous', 'The request carries one header in two spellings ("_" or "." and "-") that some servers read as one.');
const OVERRIDE_NOT_ON_POST = denial('request_invalid', 'A method override header is accepted only on POST.');
const OVERRIDES_DISAGREE = denial('request_invalid', 'The method override headers name different methods.');
const OVERRIDE_REFUSED = denial('method_not_allowed', 'The method override names a method the gateway does not forward.', ALLOW_HEADER);

export interface RequestSanityOptions {
  /** A header name with `_` or `.` that is not allowed: dropped, or the request refused (header_ambiguous). */
  readonly underscores: 'drop' | 'refuse';
  /** Names (lower case) with `_` or `.` forwarded as sent; none of them a protected header in its dash spelling (checked at start). */
  readonly allowUnderscores: readonly string[];
  /** Method override headers: stripped, or honoured (judged as that method, and forwarded). */
  readonly methodOverride: 'strip' | 'honour';
  /** Headers (lower case) the gateway reads besides the fixed ones (http/protected-headers.ts): the key headers, the client-address header. */
  readonly configuredHeaders: readonly string[];
}

const DEFAULTS: RequestSanityOptions = { underscores: 'drop', allowUnderscores: [], methodOverride: 'strip', configuredHeaders: ['authorization', 'x-api-key'] };

/** Whether `raw` (flat pairs) has a line whose name reads as `folded` to a CGI-style server and is not spelled `lowerCaseName`. */
function hasOtherSpelling(raw: readonly string[], folded: string, lowerCaseName: string): boolean {
  for (let index = 0; index < raw.length; index += 2) {
    const name = raw[index] as string;
    // Folding keeps the length, so most names are passed over on it.
    if (name.length === folded.length && name.toLowerCase() !== lowerCaseName && dashSpelling(name) === folded) return true;
  }
  return false;
}

/**
 * The cheapest check, first: what the request is, read the way every server reads it.
 *
 * - A method the gateway forwards, and a request target in origin form (`/path?query`).
 *   Absolute-form targets (`http://host/…`) are what forward proxies take; accepting them
 *   would let a client name another host.
 * - One valid Host (RFC 9112 §3.2; http/host-header.ts): it is forwarded as X-Forwarded-Host.
 * - No `Connection` naming a header the gateway reads or sets end to end (RFC 9110 §7.6.1 lets
 *   a client make any header hop-by-hop; the gateway would then drop `Content-Length`, a key
 *   header, `X-Forwarded-For` or an identity header it checked or wrote).
 * - Header names with `_` or `.` (held back by the engine's header pass): dropped or refused,
 *   except the allowed ones, which are forwarded unless `Connection` names them or the request
 *   also carries another spelling of them.
 * - Method overrides (held back too): stripped, or honoured on POST, when one forwarded method
 *   is named: the request is then judged as that method (`context.method`), and the override
 *   is forwarded for the upstream to apply.
 *
 * Everything but the method and target is settled by the header pass; this check only looks
 * at what it recorded, so a request without such headers costs a few field reads.
 */
export class RequestSanityCheck implements Check {
  readonly name = 'request-sanity';
  readonly #refuseUnderscores: boolean;
  readonly #allowUnderscores: ReadonlySet<string>;
  readonly #honourOverride: boolean;
  readonly #isProtectedHeader: (lowerCaseName: string) => boolean;

  constructor(options: RequestSanityOptions) {
    this.#refuseUnderscores = options.underscores === 'refuse';
    this.#allowUnderscores = new Set(options.allowUnderscores.map((name) => name.toLowerCase()));
    this.#honourOverride = options.methodOverride === 'honour';
    this.#isProtectedHeader = createProtectedHeaderTest(options.configuredHeaders, false);
  }

  run(context: RequestContext): Denial | null {
    if (!ALLOWED.has(context.method)) return METHOD_REFUSED;
    const url = context.req.url as string;
    if (url.charCodeAt(0) !== 47 /* / */ || url.charCodeAt(1) === 47 /* // would be a scheme-relative URL */) return TARGET_REFUSED;
    const host = context.host;
    if (host !== undefined) {
      if (typeof host !== 'string') return HOST_REPEATED;
      if (!isValidHost(host)) return HOST_INVALID;
    }
    if (context.connectionNamed !== null && this.#namesProtected(context.connectionNamed)) return CONNECTION_NAMES_PROTECTED;
    if (context.underscoreHeaders !== null) {
      const refused = this.#settleUnderscores(context, context.underscoreHeaders);
      if (refused !== null) return refused;
    }
    if (context.methodOverrideHeaders !== null && this.#honourOverride) return this.#honourOverrides(context, context.methodOverrideHeaders);
    return null;
  }

  #namesProtected(named: ReadonlySet<string>): boolean {
    for (const name of named) if (this.#isProtectedHeader(name)) return true;
    return false;
  }

  /** Forwards the allowed lines with `_` or `.`; refuses the others when so configured, and any allowed one sent in two spellings. */
  #settleUnderscores(context: RequestContext, lines: readonly string[]): Denial | null {
    for (let index = 0; index < lines.length; index += 2) {
      const name = lines[index] as string;
      const lowerCaseName = name.toLowerCase();
      if (!this.#allowUnderscores.has(lowerCaseName)) {
        if (this.#refuseUnderscores) return UNDERSCORE_REFUSED;
        continue;
      }
      if (hasOtherSpelling(context.req.rawHeaders, dashSpelling(lowerCaseName), lowerCaseName)) return TWO_SPELLINGS;
      if (context.connectionNamed?.has(lowerCaseName) === true) continue;
      context.upstreamHeaders.push(name, lines[index + 1] as string);
    }
    return null;
  }

  /** Honours a method override: one forwarded method, on POST; forwarded so the upstream applies it too. */
  #honourOverrides(context: RequestContext, lines: readonly string[]): Denial | null {
    if (context.method !== 'POST') return OVERRIDE_NOT_ON_POST;
    // Frameworks upper-case the value (Express, Symfony, Rack), so the gateway does too.
    const method = (lines[1] as string).trim().toUpperCase();
    for (let index = 3; index < lines.length; index += 2) {
      if ((lines[index] as string).trim().toUpperCase() !== method) return OVERRIDES_DISAGREE;
    }
    if (!ALLOWED.has(method)) return OVERRIDE_REFUSED;
    context.method = method;
    for (let index = 0; index < lines.length; index++) context.upstreamHeaders.push(lines[index] as string);
    return null;
  }
}

/** The stage-1 sanity check; with no options, the defaults (drop `_` names, strip overrides). */
export function createRequestSanityCheck(options: RequestSanityOptions = DEFAULTS): RequestSanityCheck {
  return new RequestSanityCheck(options);
}
