/**
 * The CORS policy (Fetch standard, "CORS protocol"), compiled once from `cors.*`. Off unless
 * `cors.allowedOrigins` lists an origin.
 *
 * Origins are exact (`https://app.example.com`), a pattern whose leftmost host label is `*`
 * (`https://*.example.com`: one or more labels in front of `example.com`, never
 * `example.com` itself), or `*` (any origin; never together with credentials, because a
 * credentialed response may not carry `*` and echoing every origin with credentials would
 * hand every web page the user's session).
 */

export interface CorsOptions {
  allowedOrigins: readonly string[];
  allowedMethods: readonly string[];
  allowedHeaders: readonly string[];
  exposedHeaders: readonly string[];
  allowCredentials: boolean;
  /** Milliseconds; sent as seconds in Access-Control-Max-Age. */
  maxAge: number;
}

export interface CorsPolicy {
  /** The Access-Control-Allow-Origin value for this origin, or null when it is not allowed. */
  allowOriginValue(origin: string): string | null;
  /** Whether a preflight's requested method and headers are allowed. */
  allowsPreflight(method: string, requestedHeaders: string | undefined): boolean;
  readonly allowCredentials: boolean;
  readonly allowMethods: string;
  readonly allowHeaders: string;
  readonly exposeHeaders: string | null;
  readonly maxAgeSeconds: string;
}

/** Matches one host label, as in a DNS name. */
const LABEL = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';
export const ORIGIN_FORMAT = /^(?:\*|https?:\/\/(?:\*\.)?[a-z0-9-]+(?:\.[a-z0-9-]+)*(?::[0-9]{1,5})?)$/;

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Throws an Error naming the option when the combination is unsafe. */
export function compileCorsPolicy(options: CorsOptions): CorsPolicy {
  const anyOrigin = options.allowedOrigins.includes('*');
  if (anyOrigin && options.allowCredentials) {
    throw new Error('cors.allowedOrigins: "*" cannot be combined with cors.allowCredentials: true; list the origins that may send credentials');
  }
  const allowHeaderSet = new Set(options.allowedHeaders.map((header) => header.toLowerCase()));
  if (allowHeaderSet.has('*') && options.allowCredentials) {
    throw new Error('cors.allowedHeaders: "*" cannot be combined with cors.allowCredentials: true (browsers read it literally); list the headers');
  }
  const exact = new Set<string>();
  const patterns: RegExp[] = [];
  for (const origin of options.allowedOrigins) {
    if (origin === '*') continue;
    if (!ORIGIN_FORMAT.test(origin)) throw new Error(`cors.allowedOrigins: ${JSON.stringify(origin)} is not an origin such as https://app.example.com or https://*.example.com`);
    if (origin.includes('*')) {
      const [scheme, rest] = origin.split('://*.') as [string, string];
      // Linear: each repetition ends in a ".", so there is one way to split the host.
      patterns.push(new RegExp(`^${escapeRegExp(scheme)}://(?:${LABEL}\\.)+${escapeRegExp(rest)}$`));
    } else exact.add(origin);
  }
  const methods = new Set(options.allowedMethods);
  const anyHeader = allowHeaderSet.has('*');
  return {
    allowOriginValue(origin) {
      if (anyOrigin) return '*';
      if (exact.has(origin)) return origin;
      for (const pattern of patterns) if (pattern.test(origin)) return origin;
      return null;
    },
    allowsPreflight(method, requestedHeaders) {
      if (!methods.has(method)) return false;
      if (requestedHeaders === undefined || anyHeader) return true;
      for (const header of requestedHeaders.split(',')) {
        const name = header.trim().toLowerCase();
        if (name !== '' && !allowHeaderSet.has(name)) return false;
      }
      return true;
    },
    allowCredentials: options.allowCredentials,
    allowMethods: [...methods].join(', '),
    allowHeaders: [...allowHeaderSet].join(', '),
    exposeHeaders: options.exposedHeaders.length === 0 ? null : options.exposedHeaders.join(', '),
    maxAgeSeconds: String(Math.floor(options.maxAge / 1000)),
  };
}
