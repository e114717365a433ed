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

export interface UpstreamConfig {
  /** Null: `serve` starts the built-in example upstream. */
  url: URL | null;
  connections: number;
  connectTimeout: number;
  headersTimeout: number;
  bodyTimeout: number;
  keepAliveTimeout: number;
  tls: UpstreamTlsConfig;
}

interface RawUpstream {
  upstream: { url: string | null; connections: number; connectTimeout: unknown; headersTimeout: unknown; bodyTimeout: unknown; keepAliveTimeout: unknown; tls: UpstreamTlsConfig };
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
      description: 'The API to protect, `http://` or `https://` origin (a path prefix is allowed). When unset, `serve` starts a clearly labelled built-in example upstream.',
    },
    'upstream.connections': { type: 'integer', minimum: 1, maximum: 10000, default: 128, description: 'Maximum keep-alive connections to the upstream.' },
    'upstream.connectTimeout': duration('Time to open a connection to the upstream before answering 504 `upstream_timeout` (a refused connection answers 502 `upstream_unavailable` at once).', '5s'),
    'upstream.headersTimeout': duration('Time to wait for the upstream\'s response headers before answering 504 `upstream_timeout`.', '30s'),
    'upstream.bodyTimeout': duration('Longest pause between two chunks of the upstream\'s response body before the response is aborted.', '30s'),
    'upstream.keepAliveTimeout': duration('How long an idle upstream connection is kept open.', '4s'),
    'upstream.tls.ca': optionalFile('PEM file of the CA certificate(s) that sign an `https://` upstream\'s certificate (a private CA). Unset: the system\'s trusted CAs. The certificate and its host name are always verified unless `upstream.tls.insecureSkipVerify` is set.', '--upstream-ca'),
    'upstream.tls.cert': optionalFile('PEM client certificate (with its chain) the gateway presents to an `https://` upstream that requires mutual TLS. Needs `upstream.tls.key`.', '--upstream-cert'),
    'upstream.tls.key': optionalFile('PEM private key of `upstream.tls.cert`.', '--upstream-key'),
    'upstream.tls.servername': { type: ['string', 'null'], pattern: '^[A-Za-z0-9.-]{1,253}$', default: null, description: 'Host name to verify the upstream\'s certificate against (and to send as SNI), when it differs from the host in `upstream.url` (e.g. an upstream reached by IP address).' },
    'upstream.tls.insecureSkipVerify': { type: 'boolean', default: false, description: 'DANGEROUS: accept any upstream certificate, without verifying its issuer or host name. Anyone on the path to the upstream can then read and change the traffic. Logged as an error at every start. For a development upstream only; use `upstream.tls.ca` instead.' },
  },
  read(document, { cwd }) {
    const { upstream } = document as unknown as RawUpstream;
    return {
      upstream: {
        url: upstream.url === null ? null : new URL(upstream.url),
        connections: upstream.connections,
        connectTimeout: milliseconds(upstream.connectTimeout),
        headersTimeout: milliseconds(upstream.headersTimeout),
        bodyTimeout: milliseconds(upstream.bodyTimeout),
        keepAliveTimeout: milliseconds(upstream.keepAliveTimeout),
        tls: readUpstreamTls(upstream.tls, upstream.url, cwd),
      },
    };
  },
};

function readUpstreamTls(raw: UpstreamTlsConfig, url: string | null, cwd: string): UpstreamTlsConfig {
  const problems: string[] = [];
  if ((raw.cert === null) !== (raw.key === null)) problems.push(`upstream.tls.${raw.cert === null ? 'cert' : 'key'}: expected a file together with upstream.tls.${raw.cert === null ? 'key' : 'cert'}, found nothing`);
  const usesTls = url !== null && url.startsWith('https:');
  const configured = raw.ca !== null || raw.cert !== null || raw.servername !== null || raw.insecureSkipVerify;
  if (configured && !usesTls) problems.push('upstream.tls: TLS settings for the upstream need an https:// upstream.url');
  if (problems.length > 0) throw new ConfigError(problems);
  const path = (file: string | null) => (file === null ? null : resolve(cwd, file));
  return { ...raw, ca: path(raw.ca), cert: path(raw.cert), key: path(raw.key) };
}
