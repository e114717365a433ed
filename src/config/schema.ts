/**
 * The one schema for Portcullis's configuration: file, `PORTCULLIS_*` environment variables
 * and command-line flags are merged and then validated against it. `docs/configuration.md`
 * is generated from it (`npm run docs:config`), so every option is documented here, once.
 *
 * Formats (`duration`, `byte-size`, `host-port`, `upstream-url`, `key-prefix`, `header-name`) are registered
 * in `validate-config.ts`. `x-flag` names the CLI flag that sets an option.
 */

const duration = (description: string, defaultValue: string) =>
  ({ type: ['string', 'integer'], format: 'duration', default: defaultValue, description }) as const;

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
        flushInterval: duration('How often aggregated last-used times are written to the store (one batch, never a write per request).', '5s'),
      },
    },
    log: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        level: { type: 'string', enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], default: 'info', description: 'Log level. Logs are JSON lines on stdout; keys never appear in them.' },
      },
    },
  },
} as const;
