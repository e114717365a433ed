import { resolve } from 'node:path';
import { ConfigError } from '../config/config-error.ts';
import type { ConfigFormat, ConfigFragment } from '../config/config-fragment.ts';
import { duration, optionalFile } from '../config/option-schemas.ts';
import { parseDuration } from '../http/units.ts';

export interface UpstreamTlsConfig {
  ca: string | null;
  cert: string | null;
  key: string | null;
  servername: string | null;
  insecureSkipVerify: boolean;
}

/** How a request picks one of several origins. */
export type BalancePolicy = 'round-robin' | 'least-busy';

export interface UpstreamConfig {
  /** `upstream.url` as written; null when unset (also when `upstream.urls` is used). */
  url: URL | null;
  /** Every origin of the upstream: `upstream.url` alone, or `upstream.urls`. Empty: `serve` starts the built-in example upstream. */
  origins: URL[];
  balance: BalancePolicy;
  /** An origin that fails `failures` times in a row is skipped for `ejectFor` ms (only with several origins). */
  passiveHealth: { failures: number; ejectFor: number };
  connections: number;
  connectTimeout: number;
  headersTimeout: number;
  bodyTimeout: number;
  keepAliveTimeout: number;
  tls: UpstreamTlsConfig;
}

interface RawUpstream {
  upstream: { url: string | null; urls: string[] | null; balance: BalancePolicy; passiveHealth: { failures: number; ejectFor: unknown }; connections: number; connectTimeout: unknown; headersTimeout: unknown; bodyTimeout: unknown; keepAliveTimeout: unknown; tls: UpstreamTlsConfig };
}

const upstreamUrl: ConfigFormat = {
  expected: 'an http:// or https:// URL without credentials, query or fragment',
  documentation: 'An `http://` or `https://` URL without user name, password, query or fragment. A path (`http://10.0.0.5:3000/api`) is prefixed to every forwarded path.',
  validate: isUpstreamUrl,
  placeholder: 'url',
};

function isUpstreamUrl(value: string): boolean {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  return (url.protocol === 'http:' || url.protocol === 'https:') && url.username === '' && url.password === '' && url.search === '' && url.hash === '';
}

const milliseconds = (value: unknown) => parseDuration(value) as number;

/** The API behind the gateway, and the connections to it. */
export const upstreamConfig: ConfigFragment<{ upstream: UpstreamConfig }> = {
  formats: { 'upstream-url': upstreamUrl },
  options: {
    'upstream.url': {
      type: ['string', 'null'],
      format: 'upstream-url',
      default: null,
      'x-flag': '--upstream',
      description: 'The API to protect, `http://` or `https://` origin (a path prefix is allowed). When unset (and `upstream.urls` too), `serve` starts a clearly labelled built-in example upstream.',
    },
    'upstream.urls': {
      type: ['array', 'null'],
      items: { type: 'string', format: 'upstream-url' },
      minItems: 1,
      uniqueItems: true,
      default: null,
      description: 'Several origins (servers) of the same API, instead of `upstream.url`: what Kong calls the targets of an upstream, Envoy the endpoints of a cluster, nginx the `server` lines of an `upstream` block. Each request goes to one of them, chosen by `upstream.balance`; an origin that keeps failing is skipped for a while (`upstream.passiveHealth.*`). Every URL has the same scheme and the same path prefix, and they share the `upstream.tls.*` settings, `upstream.connections` (per origin) and the timeouts; each origin is sent its own `Host`. An idempotent request (GET, HEAD, OPTIONS, PUT, DELETE) whose origin could not be connected to, or whose kept-alive connection closed before any response byte, is sent once more to another origin; a request whose body was streamed from the client is never sent twice. In YAML a list, in `PORTCULLIS_UPSTREAM_URLS` comma-separated. Set `upstream.url` or `upstream.urls`, not both.',
    },
    'upstream.balance': {
      type: 'string',
      enum: ['round-robin', 'least-busy'],
      default: 'round-robin',
      description: 'How a request picks an origin of `upstream.urls`: `round-robin` takes them in turn; `least-busy` takes the one with the fewest requests in flight from this process (in turn among equals), which suits requests of very different durations.',
    },
    'upstream.passiveHealth.failures': {
      type: 'integer',
      minimum: 1,
      maximum: 1000,
      default: 3,
      description: 'With `upstream.urls`: an origin that fails this many requests in a row (connection refused or reset before any response byte, connect or response-headers timeout; any response, even a 5xx, is a success) is ejected: skipped for `upstream.passiveHealth.ejectFor`, then sent one request, whose success puts it back in the rotation (and whose failure ejects it again). When every origin is ejected, requests still go to the one whose last failure is the oldest, rather than all being refused. Ejections and returns are logged once each and counted (`portcullis_upstream_ejections_total`, `portcullis_upstream_restorations_total`, `portcullis_upstream_origins_ejected`); the health report (`/readyz`) shows the upstream `degraded` only once every origin has been failing for a while, and counts the ejected ones under `upstream.origins`.',
    },
    'upstream.passiveHealth.ejectFor': duration('With `upstream.urls`: how long an ejected origin is skipped before one request tries it again.', '10s'),
    'upstream.connections': { type: 'integer', minimum: 1, maximum: 10000, default: 128, description: 'Maximum keep-alive connections to the upstream (to each origin of `upstream.urls`).' },
    'upstream.connectTimeout': duration('Time to open a connection to the upstream before answering 504 `upstream_timeout` (a refused connection answers 502 `upstream_unavailable` at once; with `upstream.urls`, an idempotent request goes to another origin instead).', '5s'),
    'upstream.headersTimeout': duration('Time to wait for the upstream\'s response headers before answering 504 `upstream_timeout`.', '30s'),
    'upstream.bodyTimeout': duration('Longest pause between two chunks of the upstream\'s response body before the response is aborted.', '30s'),
    'upstream.keepAliveTimeout': duration('How long an idle upstream connection is kept open.', '4s'),
    'upstream.tls.ca': optionalFile('PEM file of the CA certificate(s) that sign an `https://` upstream\'s certificate (a private CA). Unset: the system\'s trusted CAs. The certificate and its host name are always verified unless `upstream.tls.insecureSkipVerify` is set.', '--upstream-ca'),
    'upstream.tls.cert': optionalFile('PEM client certificate (with its chain) the gateway presents to an `https://` upstream that requires mutual TLS. Needs `upstream.tls.key`.', '--upstream-cert'),
    'upstream.tls.key': optionalFile('PEM private key of `upstream.tls.cert`.', '--upstream-key'),
    'upstream.tls.servername': { type: ['string', 'null'], pattern: '^[A-Za-z0-9.-]{1,253}$', default: null, description: 'Host name to verify the upstream\'s certificate against (and to send as SNI), when it differs from the host in `upstream.url` (e.g. an upstream reached by IP address).' },
    'upstream.tls.insecureSkipVerify': { type: 'boolean', default: false, description: 'DANGEROUS: accept any upstream certificate, without verifying its issuer or host name. Anyone on the path to the upstream can then read and change the traffic. Logged as an error at every start. For a development upstream only; use `upstream.tls.ca` instead.' },
  },
  read(document, { cwd, sourceOf }) {
    const { upstream } = document as unknown as RawUpstream;
    return { upstream: readUpstream(upstream, 'upstream', cwd, sourceOf('upstream.urls')) };
  },
};

/** The raw options of an upstream, as the schema checked them: `upstream.*`, or an API's `apis.N.upstream`. */
export type RawUpstreamOptions = RawUpstream['upstream'];

/**
 * An upstream's settings from its validated options; `field` names it in messages
 * (`upstream`, `apis.0.upstream`). Throws ConfigError for what the schema cannot say.
 */
export function readUpstream(upstream: RawUpstreamOptions, field: string, cwd: string, source?: string): UpstreamConfig {
  const origins = readOrigins(upstream.url, upstream.urls, source, field);
  return {
    url: upstream.url === null ? null : new URL(upstream.url),
    origins,
    balance: upstream.balance,
    passiveHealth: { failures: upstream.passiveHealth.failures, ejectFor: milliseconds(upstream.passiveHealth.ejectFor) },
    connections: upstream.connections,
    connectTimeout: milliseconds(upstream.connectTimeout),
    headersTimeout: milliseconds(upstream.headersTimeout),
    bodyTimeout: milliseconds(upstream.bodyTimeout),
    keepAliveTimeout: milliseconds(upstream.keepAliveTimeout),
    tls: readUpstreamTls(upstream.tls, origins[0] ?? null, cwd, field),
  };
}

/**
 * The upstream's origins. Several are servers of one API: one scheme (so one set of TLS
 * settings) and one path prefix (so a request's path is the same whichever serves it).
 */
function readOrigins(url: string | null, urls: string[] | null, source: string | undefined, field: string): URL[] {
  if (url !== null && urls !== null) throw new ConfigError([`${field}.urls: expected either ${field}.url or ${field}.urls, found both (one origin: ${field}.url; several: ${field}.urls)`]);
  if (urls === null) return url === null ? [] : [new URL(url)];
  const origins = urls.map((text) => new URL(text));
  const [first] = origins as [URL];
  const problems: string[] = [];
  const from = source === undefined ? '' : ` (from ${source})`;
  origins.forEach((origin, index) => {
    if (origin.protocol !== first.protocol) problems.push(`${field}.urls.${index}${from}: expected the same scheme as ${field}.urls.0 (${first.protocol}//: every origin shares the ${field}.tls settings), found ${JSON.stringify(urls[index])}`);
    else if (basePathOf(origin) !== basePathOf(first)) problems.push(`${field}.urls.${index}${from}: expected the same path prefix as ${field}.urls.0 (${JSON.stringify(basePathOf(first) || '/')}), found ${JSON.stringify(urls[index])}`);
    const same = origins.findIndex((other) => other.origin === origin.origin);
    if (same < index) problems.push(`${field}.urls.${index}${from}: expected an origin not listed before, found ${JSON.stringify(urls[index])} (the same as ${field}.urls.${same})`);
  });
  if (problems.length > 0) throw new ConfigError(problems);
  return origins;
}

/** The path prefix an upstream URL puts before every forwarded path: `''` for `http://api/` and `http://api`. */
export function basePathOf(url: URL): string {
  return url.pathname === '/' ? '' : url.pathname.replace(/\/$/, '');
}

function readUpstreamTls(raw: UpstreamTlsConfig, origin: URL | null, cwd: string, field: string): UpstreamTlsConfig {
  const problems: string[] = [];
  if ((raw.cert === null) !== (raw.key === null)) problems.push(`${field}.tls.${raw.cert === null ? 'cert' : 'key'}: expected a file together with ${field}.tls.${raw.cert === null ? 'key' : 'cert'}, found nothing`);
  const usesTls = origin !== null && origin.protocol === 'https:';
  const configured = raw.ca !== null || raw.cert !== null || raw.servername !== null || raw.insecureSkipVerify;
  if (configured && !usesTls) problems.push(`${field}.tls: TLS settings for the upstream need an https:// ${field}.url (or ${field}.urls)`);
  if (problems.length > 0) throw new ConfigError(problems);
  const path = (file: string | null) => (file === null ? null : resolve(cwd, file));
  return { ...raw, ca: path(raw.ca), cert: path(raw.cert), key: path(raw.key) };
}
