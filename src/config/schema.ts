/**
 * The one schema for Portcullis's configuration: file, `PORTCULLIS_*` environment variables
 * and command-line flags are merged and then validated against it. `docs/configuration.md`
 * is generated from it (`npm run docs:config`), so every option is documented here, once.
 *
 * Formats (`duration`, `byte-size`, `host-port`, `upstream-url`, `key-prefix`, `header-name`,
 * `rate-policy`, `quota-policy`, `redis-url`) are registered
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
        flushInterval: duration('How often aggregated last-used times are written to the store (one batch, never a write per request).', '5s'),
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
      },
    },
  },
} as const;
