/**
 * The one schema for Portcullis's configuration: file, `PORTCULLIS_*` environment variables
 * and command-line flags are merged and then validated against it. `docs/configuration.md`
 * is generated from it (`npm run docs:config`), so every option is documented here, once.
 *
 * Formats (`duration`, `byte-size`, `host-port`, `upstream-url`, `key-prefix`, `header-name`,
 * `cidr`, `file-path`, `rate-policy`, `quota-policy`, `redis-url`, and those of routes-schema.ts)
 * are registered
 * in `validate-config.ts`. `x-flag` names the CLI flag that sets an option.
 */

import { corsConfigSchema, openapiConfigSchema, pathsConfigSchema, requestsConfigSchema, routesConfigSchema } from './routes-schema.ts';

const duration = (description: string, defaultValue: string) =>
  ({ type: ['string', 'integer'], format: 'duration', default: defaultValue, description }) as const;

const cidrList = (flag: string, description: string) =>
  ({ type: 'array', items: { type: 'string', format: 'cidr' }, default: [], 'x-flag': flag, description }) as const;

const optionalFile = (description: string, flag: string) =>
  ({ type: ['string', 'null'], format: 'file-path', default: null, 'x-flag': flag, description }) as const;

/** Mozilla's "intermediate" list: forward secrecy and AEAD only (TLS 1.3 suites first). */
export const DEFAULT_TLS_CIPHERS = [
  'TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256',
  'ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-RSA-AES128-GCM-SHA256', 'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384', 'ECDHE-ECDSA-CHACHA20-POLY1305', 'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

export const configSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    listen: {
      type: ['string', 'integer'],
      format: 'host-port',
      default: '127.0.0.1:8080',
      'x-flag': '--listen',
      description: 'Public listener, `HOST:PORT` (IPv6 in brackets: `[::]:8080`). Defaults to loopback only; use `0.0.0.0:8080` to accept other machines.',
    },
    store: {
      type: 'string',
      minLength: 1,
      default: './data/portcullis.db',
      'x-flag': '--store',
      description: 'Key store: a SQLite file path (created on first start), or a `postgres://` URL for several gateway nodes (the schema comes from the URL\'s `options=-c search_path=…`, default `public`). Keep a password out of the URL: use `PGPASSWORD` or `~/.pgpass`, or set this option in the file or environment rather than as a flag.',
    },
    workers: {
      type: 'integer',
      minimum: 1,
      maximum: 64,
      default: 1,
      'x-flag': '--workers',
      description: 'Gateway processes on this host, sharing the listen port. Each follows the change feed and batches its own usage writes. With more than 1, the first process supervises the workers and restarts one that dies.',
    },
    workerBalancing: {
      type: 'string',
      enum: ['reuse-port', 'cluster'],
      default: 'reuse-port',
      description: 'How `workers` share the port: `reuse-port` (each worker listens with SO_REUSEPORT and the kernel spreads connections) or `cluster` (the supervisor accepts and hands connections round-robin to workers, `node:cluster`).',
    },
    upstream: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        url: {
          type: ['string', 'null'],
          format: 'upstream-url',
          default: null,
          'x-flag': '--upstream',
          description: 'The API to protect, `http://` or `https://` origin (a path prefix is allowed). When unset, `serve` starts a clearly labelled built-in example upstream.',
        },
        connections: { type: 'integer', minimum: 1, maximum: 10000, default: 128, description: 'Maximum keep-alive connections to the upstream.' },
        connectTimeout: duration('Time to open a connection to the upstream before answering 504 `upstream_timeout` (a refused connection answers 502 `upstream_unavailable` at once).', '5s'),
        headersTimeout: duration('Time to wait for the upstream\'s response headers before answering 504 `upstream_timeout`.', '30s'),
        bodyTimeout: duration('Longest pause between two chunks of the upstream\'s response body before the response is aborted.', '30s'),
        keepAliveTimeout: duration('How long an idle upstream connection is kept open.', '4s'),
        tls: {
          type: 'object',
          additionalProperties: false,
          default: {},
          properties: {
            ca: optionalFile('PEM file of the CA certificate(s) that sign an `https://` upstream\'s certificate (a private CA). Unset: the system\'s trusted CAs. The certificate and its host name are always verified unless `upstream.tls.insecureSkipVerify` is set.', '--upstream-ca'),
            cert: optionalFile('PEM client certificate (with its chain) the gateway presents to an `https://` upstream that requires mutual TLS. Needs `upstream.tls.key`.', '--upstream-cert'),
            key: optionalFile('PEM private key of `upstream.tls.cert`.', '--upstream-key'),
            servername: { type: ['string', 'null'], pattern: '^[A-Za-z0-9.-]{1,253}$', default: null, description: 'Host name to verify the upstream\'s certificate against (and to send as SNI), when it differs from the host in `upstream.url` (e.g. an upstream reached by IP address).' },
            insecureSkipVerify: { type: 'boolean', default: false, description: 'DANGEROUS: accept any upstream certificate, without verifying its issuer or host name. Anyone on the path to the upstream can then read and change the traffic. Logged as an error at every start. For a development upstream only; use `upstream.tls.ca` instead.' },
          },
        },
      },
    },
    network: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        allow: cidrList('--allow-ip', 'Client addresses served, as IPv4/IPv6 CIDRs or single addresses (`10.0.0.0/8`, `2001:db8::/32`, `192.0.2.7`). Empty: every address. Others get 403 `ip_not_allowed` before any key is looked up. IPv4-mapped IPv6 clients match IPv4 entries.'),
        deny: cidrList('--deny-ip', 'Client addresses refused with 403 `ip_not_allowed`, even when `network.allow` includes them.'),
        trustProxy: cidrList('--trust-proxy', 'Proxies (load balancers) whose client-address header is believed. Only when the connection comes from one of these is the client taken from that header: the rightmost address that is not itself a trusted proxy. Empty: the socket address is always the client.'),
        clientAddressHeader: { type: 'string', format: 'header-name', default: 'x-forwarded-for', description: 'Header a trusted proxy names the client in: `x-forwarded-for`, `forwarded` (RFC 7239), or a single-value header such as `x-real-ip` (believed only when sent exactly once).' },
        forwardedHeader: { type: 'boolean', default: false, description: 'Also send the upstream an RFC 7239 `Forwarded` header (`for=` the chain, `proto`, `host`). `X-Forwarded-For` is always sent.' },
      },
    },
    tls: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        cert: optionalFile('PEM certificate of the public listener, with its chain (leaf first). With `tls.key` it turns TLS on. Reloaded from disk when the file changes or on SIGHUP, without dropping connections.', '--tls-cert'),
        key: optionalFile('PEM private key of `tls.cert`. Keep it readable by the gateway\'s user only.', '--tls-key'),
        minVersion: { type: 'string', enum: ['TLSv1.2', 'TLSv1.3'], default: 'TLSv1.2', description: 'Oldest TLS version accepted. TLS 1.0 and 1.1 are never accepted.' },
        ciphers: { type: 'string', minLength: 1, default: DEFAULT_TLS_CIPHERS, description: 'OpenSSL cipher list for TLS 1.2 and TLS 1.3. The default allows only forward-secret AEAD ciphers.' },
        hstsMaxAge: duration('`Strict-Transport-Security: max-age` sent on every TLS response (rounded down to seconds); `0s` sends no HSTS header.', '365d'),
        clientCa: optionalFile('PEM CA certificate(s) that sign client certificates. Turns on mutual TLS: see `tls.clientAuth`.', '--tls-client-ca'),
        clientAuth: { type: 'string', enum: ['handshake', 'request', 'optional'], default: 'handshake', description: 'With `tls.clientCa`: `handshake` fails the TLS handshake of a client without a valid certificate; `request` completes it and answers each request with 401 `client_certificate_required`; `optional` accepts clients without one (certificates are then used for key binding and `tls.certificateIdentity`).' },
        certificateIdentity: { type: 'boolean', default: false, description: 'A request without a key, on a connection with a verified client certificate that a key is bound to (`keys create --cert FILE`), is authenticated as that key.' },
        watch: { type: 'boolean', default: true, description: 'Reload `tls.cert`, `tls.key` and `tls.clientCa` when the files change (SIGHUP always reloads).' },
        redirectListen: { type: ['string', 'integer', 'null'], format: 'host-port', default: null, 'x-flag': '--redirect-listen', description: 'With TLS on, an extra plaintext listener that only answers 308 redirects to `https://`. Unset (the default): no plaintext listener at all.' },
      },
    },
    keys: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        prefix: { type: 'string', format: 'key-prefix', default: 'pcl', description: 'Prefix of newly created keys, optionally with an environment tag (`pcl_live`).' },
        acceptedPrefixes: {
          type: 'array',
          items: { type: 'string', format: 'key-prefix' },
          uniqueItems: true,
          description: 'Prefixes the gateway accepts. Defaults to `[keys.prefix]`; list more while migrating from one prefix to another.',
        },
        headers: {
          type: 'array',
          minItems: 1,
          items: { type: 'string', format: 'header-name' },
          uniqueItems: true,
          default: ['authorization', 'x-api-key'],
          description: 'Request headers that may carry the key. `authorization` means `Authorization: Bearer <key>`; any other header carries the bare key.',
        },
        queryParameter: {
          type: ['string', 'null'],
          pattern: '^[A-Za-z0-9_.-]{1,64}$',
          default: null,
          description: 'Query parameter that may carry the key. Off by default: URLs end up in logs and browser history.',
        },
      },
    },
    openapi: openapiConfigSchema,
    routes: routesConfigSchema,
    paths: pathsConfigSchema,
    requests: requestsConfigSchema,
    cors: corsConfigSchema,
    server: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        headersTimeout: duration('Time a client has to send complete request headers (slow-loris protection).', '10s'),
        requestTimeout: duration('Time a client has to send a complete request, body included. `0` disables it (for very large uploads).', '5m'),
        keepAliveTimeout: duration('How long an idle client keep-alive connection is kept open.', '5s'),
        maxConnections: { type: 'integer', minimum: 1, default: 10000, description: 'Maximum simultaneous client connections; more are refused.' },
        maxHeaderSize: { type: ['string', 'integer'], format: 'byte-size', default: '16kb', description: 'Maximum size of a request\'s headers; larger requests get 431.' },
        drainTimeout: duration('On SIGTERM: how long in-flight requests may take to finish before connections are closed.', '30s'),
      },
    },
    cache: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        maxKeys: { type: 'integer', minimum: 1, default: 100000, description: 'Key records kept in memory (least recently used are evicted and re-read from the store).' },
        maxUnknown: { type: 'integer', minimum: 0, default: 10000, description: 'Unknown key digests remembered, so repeated bad keys cost no store lookup. Bounded so a flood of random keys cannot grow memory.' },
        maxVerifiedKeys: { type: 'integer', minimum: 0, default: 10000, description: 'Keys that recently matched a record, remembered in memory with their digest so a repeat request skips the checksum and the SHA-256. Holds plaintext keys in process memory only (never written or logged); only keys that matched a record enter it. 0 turns it off.' },
      },
    },
    changeFeed: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        pollInterval: duration('How often a node reads new key events (revocations, rotations) from the store. Bounds revocation delay. On PostgreSQL, LISTEN/NOTIFY wakes nodes at once and polling is the safety net.', '50ms'),
        staleFor: { ...duration('While the store is unreachable, how long after the change feed last reached it known keys keep working from memory. Past it, they get 503 `store_unavailable` too (fail closed). Revoked keys stay refused and unknown keys get 503 throughout. At least 1s and 4 × `pollInterval`.', '5m'), 'x-flag': '--stale-for' },
      },
    },
    health: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        listen: {
          type: ['string', 'integer', 'null'],
          format: 'host-port',
          default: null,
          'x-flag': '--health-listen',
          description: 'Address of the health listener (`GET /healthz`, `GET /readyz`) for load balancers, `HOST:PORT`. Off by default; bind it to an address only the load balancer reaches.',
        },
      },
    },
    usage: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        flushInterval: duration('How often aggregated usage (per-key, per-minute counts and last-used times) is written to the store: one batch, never a write per request.', '5s'),
        retention: duration('How long per-minute usage is kept in the store; older minutes are deleted about once an hour.', '30d'),
      },
    },
    admin: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        listen: {
          type: ['string', 'integer', 'null'],
          format: 'host-port',
          default: '127.0.0.1:8081',
          'x-flag': '--admin-listen',
          description: 'Admin API and dashboard listener, `HOST:PORT`, never the public listener. Loopback by default; `null` (or an empty `PORTCULLIS_ADMIN_LISTEN`) turns it off. With `workers` above 1, only the first worker serves it.',
        },
        allowRemote: {
          type: 'boolean',
          default: false,
          description: 'Accept admin clients that are not on this host. Off by default: requests from any address but 127.0.0.0/8 and ::1 get 403 `admin_client_refused`. Turn it on only with `admin.tls` set.',
        },
        tls: {
          type: 'object',
          additionalProperties: false,
          default: {},
          properties: {
            cert: { type: ['string', 'null'], minLength: 1, default: null, description: 'PEM certificate (chain) file for the admin listener. With `admin.tls.key`, it serves HTTPS.' },
            key: { type: ['string', 'null'], minLength: 1, default: null, description: 'PEM private key file for `admin.tls.cert`.' },
            clientCa: { type: ['string', 'null'], minLength: 1, default: null, description: 'PEM CA file: when set, admin clients must also present a certificate it signed (mTLS), in addition to an admin token.' },
          },
        },
        sessionLifetime: duration('How long a dashboard login lasts at most.', '8h'),
        sessionIdleTimeout: duration('A dashboard session unused this long ends.', '30m'),
      },
    },
    limits: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        keyRate: {
          type: ['string', 'null'],
          format: 'rate-policy',
          default: null,
          description: 'Rate limit for every key that has no rate of its own (`keys create --rate`), such as `100/s` or `6000/m burst 200`. `null`: keys without their own rate are not rate limited. Refused requests get 429 `rate_limited`.',
        },
        keyQuota: {
          type: ['string', 'null'],
          format: 'quota-policy',
          default: null,
          description: 'Quota for every key that has no quota of its own (`keys create --quota`), such as `10000/day` or `300000/month` (calendar periods, UTC). `null`: no quota. Refused requests get 429 `quota_exceeded`.',
        },
        addressRate: {
          type: ['string', 'null'],
          format: 'rate-policy',
          default: '10/s burst 100',
          description: 'Rate of denied and unauthenticated requests per client address (missing or invalid keys, preflights, refused methods, requests over a key\'s limit). An address over it is refused with 429 `rate_limited` before its key is looked at, authenticated requests included. `null` turns it off.',
        },
        maxAddresses: { type: 'integer', minimum: 1, default: 100000, description: 'Client addresses whose limit and lockout state is kept in memory at once; the oldest are forgotten first. Bounds memory whatever addresses clients come from.' },
      },
    },
    lockout: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        maxFailures: { type: 'integer', minimum: 0, default: 20, description: 'Invalid keys from one client address within `lockout.window` that lock the address out (429 `locked_out`, before any key lookup). `0` turns the lockout off.' },
        window: duration('The window, from an address\'s first invalid key, within which `lockout.maxFailures` invalid keys lock it out.', '1m'),
        coolOff: duration('How long a locked-out address is refused.', '5m'),
      },
    },
    redis: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        url: {
          type: ['string', 'null'],
          format: 'redis-url',
          default: null,
          'x-flag': '--redis',
          description: 'Redis shared by every gateway node for rate limits, quotas and lockout, such as `redis://127.0.0.1:6379`. `null`: each node keeps its limits in memory. While Redis is unreachable each node limits on its own (never not at all) and logs it once.',
        },
        keyPrefix: { type: 'string', pattern: '^[A-Za-z0-9:_.-]{0,64}$', default: 'portcullis:', description: 'Prefix of every Redis key the gateway writes, so several deployments can share one Redis.' },
        commandTimeout: duration('A Redis answer slower than this counts as Redis being unreachable: the request is limited locally instead, and the node probes Redis every second until it answers again.', '250ms'),
      },
    },
    log: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        level: { type: 'string', enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], default: 'info', description: 'Log level. Logs are JSON lines on stdout; keys never appear in them.' },
        access: { type: 'boolean', default: false, description: 'Log one `request` line per request (request id, method, path without query, status, outcome, key id, client address, duration) at level info. Off by default: it costs a log write per request.' },
      },
    },
  },
} as const;
