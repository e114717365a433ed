import { resolve } from 'node:path';
import { ConfigError } from '../config/config-error.ts';
import type { ConfigFragment } from '../config/config-fragment.ts';
import { duration, optionalFile } from '../config/option-schemas.ts';
import { parseByteSize, parseDuration, parseHostPort, type HostPort } from '../http/units.ts';

/** Mozilla's "intermediate" list: forward secrecy and AEAD only (TLS 1.3 suites first). */
export const DEFAULT_TLS_CIPHERS = [
  'TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256',
  'ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-RSA-AES128-GCM-SHA256', 'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384', 'ECDHE-ECDSA-CHACHA20-POLY1305', 'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

/** The `tls` section, normalised; null when the listener speaks plain HTTP. */
export interface TlsConfig {
  cert: string;
  key: string;
  minVersion: 'TLSv1.2' | 'TLSv1.3';
  ciphers: string;
  /** Seconds; 0 sends no HSTS header. */
  hstsMaxAge: number;
  clientCa: string | null;
  clientAuth: 'handshake' | 'request' | 'optional';
  certificateIdentity: boolean;
  watch: boolean;
  redirectListen: HostPort | null;
  /** Offer HTTP/2 (ALPN `h2`) beside HTTP/1.1 on the same port. */
  http2: boolean;
}

/** The `http2` section: limits of HTTP/2 connections (used when `tls.http2` is on). */
export interface Http2Config {
  maxConcurrentStreams: number;
  maxHeaderListPairs: number;
  maxInvalidFrames: number;
  maxRejectedStreams: number;
  /** Milliseconds the reset, PING and SETTINGS budgets cover. */
  floodInterval: number;
  maxResets: number;
  maxPings: number;
  maxSettings: number;
  /** Milliseconds a connection may stay without an open stream before GOAWAY; 0: no limit. */
  idleTimeout: number;
}

interface ServerConfig {
  headersTimeout: number;
  requestTimeout: number;
  keepAliveTimeout: number;
  maxConnections: number;
  maxHeaderSize: number;
  drainTimeout: number;
}

export interface ListenerSettings {
  listen: HostPort;
  tls: TlsConfig | null;
  server: ServerConfig;
  http2: Http2Config;
}

interface RawListener {
  listen: string | number;
  tls: Omit<TlsConfig, 'cert' | 'key' | 'hstsMaxAge' | 'redirectListen'> & { cert: string | null; key: string | null; hstsMaxAge: unknown; redirectListen: string | number | null };
  server: Record<Exclude<keyof ServerConfig, 'maxConnections'>, unknown> & { maxConnections: number };
  http2: Omit<Http2Config, 'floodInterval' | 'idleTimeout'> & { floodInterval: unknown; idleTimeout: unknown };
}

/** A positive integer option of the `http2` section. */
const http2Count = (defaultValue: number, description: string) => ({ type: 'integer', minimum: 1, maximum: 1_000_000, default: defaultValue, description });

const milliseconds = (value: unknown) => parseDuration(value) as number;

/** The public listener: its address, TLS (with client certificates) and its limits on clients. */
export const listenerConfig: ConfigFragment<ListenerSettings> = {
  options: {
    listen: {
      type: ['string', 'integer'],
      format: 'host-port',
      default: '127.0.0.1:8080',
      'x-flag': '--listen',
      description: 'Public listener, `HOST:PORT` (IPv6 in brackets: `[::]:8080`). Defaults to loopback only; use `0.0.0.0:8080` to accept other machines.',
    },
    'tls.cert': optionalFile('PEM certificate of the public listener, with its chain (leaf first). With `tls.key` it turns TLS on. Reloaded from disk when the file changes or on SIGHUP, without dropping connections.', '--tls-cert'),
    'tls.key': optionalFile('PEM private key of `tls.cert`. Keep it readable by the gateway\'s user only.', '--tls-key'),
    'tls.minVersion': { type: 'string', enum: ['TLSv1.2', 'TLSv1.3'], default: 'TLSv1.2', description: 'Oldest TLS version accepted. TLS 1.0 and 1.1 are never accepted.' },
    'tls.ciphers': { type: 'string', minLength: 1, default: DEFAULT_TLS_CIPHERS, description: 'OpenSSL cipher list for TLS 1.2 and TLS 1.3. The default allows only forward-secret AEAD ciphers.' },
    'tls.hstsMaxAge': duration('`Strict-Transport-Security: max-age` sent on every TLS response (rounded down to seconds); `0s` sends no HSTS header.', '365d'),
    'tls.clientCa': optionalFile('PEM CA certificate(s) that sign client certificates. Turns on mutual TLS: see `tls.clientAuth`.', '--tls-client-ca'),
    'tls.clientAuth': { type: 'string', enum: ['handshake', 'request', 'optional'], default: 'handshake', description: 'With `tls.clientCa`: `handshake` fails the TLS handshake of a client without a valid certificate; `request` completes it and answers each request with 401 `client_certificate_required`; `optional` accepts clients without one (certificates are then used for key binding and `tls.certificateIdentity`).' },
    'tls.certificateIdentity': { type: 'boolean', default: false, description: 'A request without a key, on a connection with a verified client certificate that a key is bound to (`keys create --cert FILE`), is authenticated as that key.' },
    'tls.watch': { type: 'boolean', default: true, description: 'Reload `tls.cert`, `tls.key` and `tls.clientCa` when the files change (SIGHUP always reloads).' },
    'tls.redirectListen': { type: ['string', 'integer', 'null'], format: 'host-port', default: null, 'x-flag': '--redirect-listen', description: 'With TLS on, an extra plaintext listener that only answers 308 redirects to `https://`. Unset (the default): no plaintext listener at all.' },
    'tls.http2': { type: 'boolean', default: false, description: 'With TLS on, also offer HTTP/2 (ALPN `h2`) on the same port; HTTP/1.1 clients are served as before. HTTP/2 requests go through the same checks and reach the upstream over HTTP/1.1. WebSockets stay on HTTP/1.1. Limits: the `http2.*` options.' },
    'http2.maxConcurrentStreams': http2Count(100, 'Streams (requests) one HTTP/2 connection may have open at once (SETTINGS_MAX_CONCURRENT_STREAMS); more are refused with REFUSED_STREAM.'),
    'http2.maxHeaderListPairs': http2Count(128, 'Header fields (pseudo-headers included) one HTTP/2 request may carry; the size of the list is capped by `server.maxHeaderSize` (SETTINGS_MAX_HEADER_LIST_SIZE). Bounds CONTINUATION floods.'),
    'http2.maxInvalidFrames': http2Count(100, 'Invalid frames an HTTP/2 connection may send before it is closed.'),
    'http2.maxRejectedStreams': http2Count(100, 'Streams of one HTTP/2 connection refused (over `http2.maxConcurrentStreams`) before the connection is closed.'),
    'http2.floodInterval': duration('Period the `http2.maxResets`, `http2.maxPings` and `http2.maxSettings` budgets cover.', '10s'),
    'http2.maxResets': http2Count(200, 'Streams an HTTP/2 client may reset (RST_STREAM before the response ended) per `http2.floodInterval`; over it the connection gets GOAWAY ENHANCE_YOUR_CALM and is closed (rapid reset, CVE-2023-44487).'),
    'http2.maxPings': http2Count(20, 'PING frames an HTTP/2 client may send per `http2.floodInterval` before its connection is closed.'),
    'http2.maxSettings': http2Count(20, 'SETTINGS frames an HTTP/2 client may send per `http2.floodInterval` (its first included) before its connection is closed.'),
    'http2.idleTimeout': duration('How long an HTTP/2 connection may stay without an open stream (request) before it gets GOAWAY and is closed; the HTTP/2 counterpart of `server.keepAliveTimeout`. PINGs and SETTINGS do not count as activity; a stream that is open, however slow, keeps the connection. `0s`: idle HTTP/2 connections stay open until the client closes them.', '5s'),
    'server.headersTimeout': duration('Time a client has to send complete request headers (slow-loris protection).', '10s'),
    'server.requestTimeout': duration('Time a client has to send a complete request, body included. `0` disables it (for very large uploads).', '5m'),
    'server.keepAliveTimeout': duration('How long an idle client keep-alive connection is kept open.', '5s'),
    'server.maxConnections': { type: 'integer', minimum: 1, default: 10000, description: 'Maximum simultaneous client connections; more are refused.' },
    'server.maxHeaderSize': { type: ['string', 'integer'], format: 'byte-size', default: '16kb', description: 'Maximum size of a request\'s headers; larger requests get 431.' },
    'server.drainTimeout': duration('On SIGTERM: how long in-flight requests may take to finish before connections are closed.', '30s'),
  },
  read(document, { cwd }) {
    const raw = document as unknown as RawListener;
    return {
      listen: parseHostPort(raw.listen) as HostPort,
      tls: readTls(raw.tls, cwd),
      server: {
        headersTimeout: milliseconds(raw.server.headersTimeout),
        requestTimeout: milliseconds(raw.server.requestTimeout),
        keepAliveTimeout: milliseconds(raw.server.keepAliveTimeout),
        maxConnections: raw.server.maxConnections,
        maxHeaderSize: parseByteSize(raw.server.maxHeaderSize) as number,
        drainTimeout: milliseconds(raw.server.drainTimeout),
      },
      http2: { ...raw.http2, floodInterval: milliseconds(raw.http2.floodInterval), idleTimeout: milliseconds(raw.http2.idleTimeout) },
    };
  },
};

/** Options that belong together (the schema cannot say it), then the normalised section. */
function readTls(raw: RawListener['tls'], cwd: string): TlsConfig | null {
  const problems: string[] = [];
  if ((raw.cert === null) !== (raw.key === null)) problems.push(`tls.${raw.cert === null ? 'cert' : 'key'}: expected a file together with tls.${raw.cert === null ? 'key' : 'cert'} (--tls-cert and --tls-key turn TLS on together), found nothing`);
  if (raw.cert === null && raw.clientCa !== null) problems.push('tls.clientCa: client certificates need TLS on the listener; set tls.cert and tls.key (--tls-cert, --tls-key) as well');
  if (raw.cert === null && raw.redirectListen !== null) problems.push('tls.redirectListen: the redirect listener only exists with TLS on; set tls.cert and tls.key as well');
  if (raw.cert === null && raw.http2) problems.push('tls.http2: HTTP/2 is offered on the TLS listener only (ALPN); set tls.cert and tls.key as well');
  if (raw.clientCa === null && raw.certificateIdentity) problems.push('tls.certificateIdentity: needs tls.clientCa (--tls-client-ca), the CA that signs client certificates');
  if (problems.length > 0) throw new ConfigError(problems);
  if (raw.cert === null || raw.key === null) return null;
  return {
    cert: resolve(cwd, raw.cert),
    key: resolve(cwd, raw.key),
    minVersion: raw.minVersion,
    ciphers: raw.ciphers,
    hstsMaxAge: Math.floor(milliseconds(raw.hstsMaxAge) / 1000),
    clientCa: raw.clientCa === null ? null : resolve(cwd, raw.clientCa),
    clientAuth: raw.clientAuth,
    certificateIdentity: raw.certificateIdentity,
    watch: raw.watch,
    redirectListen: raw.redirectListen === null ? null : (parseHostPort(raw.redirectListen) as HostPort),
    http2: raw.http2,
  };
}
