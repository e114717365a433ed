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
      description: 'Key store: a SQLite file path (created on first start).',
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
        pollInterval: duration('How often a node reads new key events (revocations, rotations) from the store. Bounds revocation delay.', '50ms'),
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
          description: 'Admin API and dashboard listener, `HOST:PORT`, never the public listener. Loopback by default; `null` (or an empty `PORTCULLIS_ADMIN_LISTEN`) turns it off.',
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
