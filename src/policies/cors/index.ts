import { ConfigError } from '../../config/config-error.ts';
import type { ConfigFragment } from '../../config/config-fragment.ts';
import { parseDuration } from '../../http/units.ts';
import { FORWARDED_METHODS } from '../../http/methods.ts';
import type { Policy } from '../policy.ts';
import { createCorsCheck } from './cors-check.ts';
import { compileCorsPolicy, ORIGIN_FORMAT, type CorsOptions } from './cors-policy.ts';

interface CorsSettings {
  cors: CorsOptions;
}

const corsConfig: ConfigFragment<CorsSettings> = {
  formats: {
    'header-name-or-star': {
      expected: 'an HTTP header name (letters, digits and -) or *',
      documentation: 'An HTTP header name (letters, digits and `-`, at most 64 characters, matched without regard to case), or `*`.',
      validate: /^(?:\*|[A-Za-z0-9-]{1,64})$/,
    },
    'cors-origin': {
      expected: 'an origin such as https://app.example.com or https://*.example.com (lower case, no path), or *',
      documentation: 'An origin as browsers send it, lower case and without a path: `https://app.example.com`, `http://localhost:5173`; a wildcard leftmost label, `https://*.example.com`, matches one or more labels in front of `example.com` (not `example.com` itself); `*` matches any origin.',
      validate: ORIGIN_FORMAT,
    },
  },
  options: {
    'cors.allowedOrigins': {
      type: 'array',
      items: { type: 'string', format: 'cors-origin' },
      uniqueItems: true,
      default: [],
      description: 'Origins whose pages may call the API from a browser: exact (`https://app.example.com`), with a wildcard leftmost label (`https://*.example.com`), or `*`. Empty: CORS is off and the gateway sends no CORS headers.',
    },
    'cors.allowedMethods': {
      type: 'array',
      items: { type: 'string', enum: FORWARDED_METHODS },
      uniqueItems: true,
      default: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
      description: 'Methods a preflight may ask for.',
    },
    'cors.allowedHeaders': {
      type: 'array',
      items: { type: 'string', format: 'header-name-or-star' },
      uniqueItems: true,
      default: ['authorization', 'content-type', 'x-api-key'],
      description: 'Request headers a preflight may ask for (`*`: any, only without credentials).',
    },
    'cors.exposedHeaders': { type: 'array', items: { type: 'string', format: 'header-name' }, uniqueItems: true, default: [], description: 'Response headers the page\'s script may read beyond the safelisted ones.' },
    'cors.allowCredentials': { type: 'boolean', default: false, description: 'Whether browsers may send cookies and HTTP authentication. Never combined with the origin `*`.' },
    'cors.maxAge': { type: ['string', 'integer'], format: 'duration', default: '10m', description: 'How long a browser may cache a preflight answer.' },
  },
  read(document) {
    const raw = (document as unknown as { cors: Omit<CorsOptions, 'maxAge'> & { maxAge: unknown } }).cors;
    const cors: CorsOptions = { ...raw, maxAge: parseDuration(raw.maxAge) as number };
    // Unsafe combinations (credentials with `*`) are refused at start, not when the check is made.
    if (cors.allowedOrigins.length > 0) {
      try {
        compileCorsPolicy(cors);
      } catch (error) {
        throw new ConfigError([(error as Error).message]);
      }
    }
    return { cors };
  },
};

/** Stage 5: CORS preflights answered by the gateway, CORS headers on every answer. Off while `cors.allowedOrigins` is empty. */
export const cors: Policy<CorsSettings> = {
  name: 'cors',
  stage: 5,
  config: corsConfig,
  create: (config) => (config.cors.allowedOrigins.length === 0 ? null : createCorsCheck(compileCorsPolicy(config.cors))),
};
