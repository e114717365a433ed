/**
 * The rows of the benchmark, as data. A row says how to start what it measures
 * and what its requests look like; run.ts does the rest. Later rows (TLS, rate
 * limits, validation, workers) are one more entry here, usually a
 * `startPortcullis` call with extra flags.
 */
import { join, resolve } from 'node:path';
import { BenchUsageError } from './bench-env.ts';
import type { ChildProcesses } from './child-processes.ts';
import { spawnPeer } from './child-processes.ts';
import { loopDelayEnv } from './loop-delay.ts';
import { startPortcullis } from './portcullis-process.ts';
import { benchCertificate } from './bench-certificate.ts';
import { dpopRow, signedRequestsRow } from './possession-rows.ts';
import { apisGet, apisOneHostGet, startApisRow } from './apis-row.ts';
import { bearerGet, bearerJsonPost, listedGet } from './wrk.ts';
import type { RequestShape } from './wrk.ts';

/** What a row's `start` can use; prepared by run.ts before any row starts. */
export interface BenchContext {
  children: ChildProcesses;
  /** The project root (where src/cli/main.js lives). */
  repoRoot: string;
  /** A fresh temporary directory, removed at the end of the run. */
  workDir: string;
  /** `http://127.0.0.1:<port>` of the shared upstream. */
  upstreamOrigin: string;
  upstreamPid: number;
  /** The seeded store that Portcullis rows copy; null when no selected row needs keys. */
  seededStorePath: string | null;
  /** Bearer tokens the requests rotate over (valid keys when a store was seeded). */
  tokens: readonly string[];
  /** Where the rows' servers report their event-loop delay (bench/loop-delay.ts); null: not probed. */
  loopDelayDir: string | null;
}

export interface TargetDefinition {
  /** Used in the table, in `BENCH_ONLY` and in the JSON results. */
  name: string;
  description: string;
  /** Whether the row needs the seeded key store (run.ts seeds one only if some selected row does). */
  needsKeyStore: boolean;
  /** The row this one is divided by in the printed ratios, if any. */
  compareTo: string | null;
  /** More rows this one is divided by in the printed ratios (when they run too). */
  alsoCompareTo?: readonly string[];
  /** What sends the requests: wrk (HTTP/1.1, the default) or h2load (HTTP/2; h2load.ts). */
  loadGenerator?: 'wrk' | 'h2load';
  request: RequestShape;
  /** Run only when BENCH_ONLY (or BENCH_PAIR) names it, never in a run of every row. */
  onlyWhenNamed?: boolean;
  /** Starts what the row measures. */
  start(context: BenchContext): Promise<StartedTarget>;
  /** For a `headerList` request shape: makes the row's requests, anew before each run of wrk. */
  requestList?: RequestListSource;
}

/**
 * How a row whose requests may each be sent once (a DPoP proof, a request signature) makes
 * them: run.ts calls `write` before every run of wrk with a count sized from the row's rate
 * (`requestListSize` in wrk.ts), and the row's script reads the file (`headerListScript`).
 */
export interface RequestListSource {
  /** Writes `count` requests never sent before, for the server `start` started last, to `path`. */
  write(path: string, count: number): Promise<void>;
}

export interface StartedTarget {
  /** Where wrk sends its requests. */
  url: string;
  /** The process whose CPU time (with its descendants') the row charges to itself. */
  pid: number;
  /** Whether the row owns that process (it is stopped and started afresh each round); not so for `direct`. */
  ownsProcess?: boolean;
}

/** One bare proxy process (bench/peers/bare-proxy.ts) in front of the shared upstream. */
async function startBareProxy(context: BenchContext, name: string): Promise<StartedTarget> {
  const script = join(context.repoRoot, 'bench/peers/bare-proxy.ts');
  const { child, port } = await spawnPeer(context.children, name, [script, '0', context.upstreamOrigin], undefined, loopDelayEnv(context.loopDelayDir));
  return { url: `http://127.0.0.1:${port}`, pid: child.process.pid!, ownsProcess: true };
}

/**
 * The settings of the `key-auth-only` row: each optional layer of the default pipeline off,
 * by the option that turns it off. Those off by default are named too, so the row stays key
 * auth only if a default changes. (An empty variable is `null`, or an empty list.)
 */
export const KEY_AUTH_ONLY_ENV: Readonly<Record<string, string>> = {
  PORTCULLIS_LIMITS_ADDRESS_RATE: '', // address-limit: the per-address budget of denied requests (default 10/s burst 100)
  PORTCULLIS_LOCKOUT_MAX_FAILURES: '0', // address-limit: the brute-force lockout (default 20)
  PORTCULLIS_NETWORK_ALLOW: '', // network-access (off by default)
  PORTCULLIS_NETWORK_DENY: '',
  PORTCULLIS_OPENAPI_FILE: '', // route-match, scopes and validation against a description (off by default)
  PORTCULLIS_LIMITS_KEY_RATE: '', // key-limits: no default rate (off by default)
  PORTCULLIS_LIMITS_KEY_QUOTA: '', // key-limits: no default quota (off by default)
  PORTCULLIS_CORS_ALLOWED_ORIGINS: '', // cors (off by default)
  PORTCULLIS_LEAKS_ALERTS_ENABLED: 'false', // leak-alerts (off by default)
};

/** The `anomaly` row: tracking on, every key in its learning window for the whole run. */
export const ANOMALY_ENV: Readonly<Record<string, string>> = { PORTCULLIS_ANOMALY_ENABLED: 'true', PORTCULLIS_ANOMALY_LEARNING_WINDOW: '7d' };

export const targets: readonly TargetDefinition[] = [
  {
    name: 'direct',
    description: 'wrk → upstream; no hop at all (the ceiling)',
    needsKeyStore: false,
    compareTo: null,
    request: bearerGet,
    async start(context) {
      return { url: context.upstreamOrigin, pid: context.upstreamPid };
    },
  },
  {
    name: 'bare',
    description: 'wrk → bare node:http + undici proxy → upstream; no checks (the Node.js limit)',
    needsKeyStore: false,
    compareTo: null,
    request: bearerGet,
    start: (context) => startBareProxy(context, 'bare-proxy'),
  },
  {
    name: 'bare-again',
    description: 'a second bare proxy, measured right after `bare`: the benchmark\'s own error (an A/A control)',
    needsKeyStore: false,
    compareTo: 'bare',
    request: bearerGet,
    start: (context) => startBareProxy(context, 'bare-proxy-again'),
  },
  {
    name: 'portcullis',
    description: 'wrk → Portcullis, key auth on, 1,000 keys in the store → upstream',
    needsKeyStore: true,
    compareTo: 'bare',
    request: bearerGet,
    start: (context) => startPortcullis(context, 'portcullis'),
  },
  {
    // Every layer the configuration can turn off is off; what stays cannot be turned off
    // (request sanity, the canonical path, the key record's own policy, limits and body
    // size check, which find nothing to do for these keys and this GET), plus metrics and
    // usage recording. Compared with `portcullis`' own baseline, the gap between the two
    // rows is what the default optional layers cost.
    name: 'key-auth-only',
    description: 'as portcullis, every optional layer off (per-address limit and lockout; no routes, network lists, CORS, default rate or quota, leak endpoints): only the key check',
    needsKeyStore: true,
    compareTo: 'bare',
    request: bearerGet,
    start: (context) => startPortcullis(context, 'key-auth-only', [], KEY_AUTH_ONLY_ENV),
  },
  {
    // Each request is `GET /` with a delegated token of one of the run's keys and a DPoP proof
    // of its own (ES256, made before each turn; bench settings in possession-rows.ts).
    name: 'dpop',
    description: 'as portcullis, each request with a delegated DPoP token (one per key, bound to its own P-256 browser key) and a new ES256 proof',
    needsKeyStore: true,
    compareTo: 'portcullis',
    request: listedGet,
    ...dpopRow(),
  },
  {
    name: 'signed-requests',
    description: 'as portcullis, with keys bound to Ed25519 signing keys: each request signed anew (RFC 9421, @method and @target-uri, created, nonce)',
    needsKeyStore: true,
    compareTo: 'portcullis',
    request: listedGet,
    ...signedRequestsRow(),
  },
  {
    name: 'portcullis-other',
    description: 'as portcullis, from another checkout (BENCH_OTHER_CHECKOUT, with its own node_modules): an A/B of two commits in one run',
    needsKeyStore: true,
    compareTo: 'bare',
    request: bearerGet,
    onlyWhenNamed: true,
    start(context) {
      const root = process.env['BENCH_OTHER_CHECKOUT']?.trim();
      if (!root) throw new BenchUsageError('portcullis-other needs BENCH_OTHER_CHECKOUT=<root of another checkout, with node_modules>');
      return startPortcullis({ ...context, repoRoot: resolve(root) }, 'portcullis-other');
    },
  },
  {
    name: 'bare-tls',
    description: 'wrk → bare node:https + undici proxy → upstream; TLS, no checks (the Node.js limit over TLS)',
    needsKeyStore: false,
    compareTo: null,
    request: bearerGet,
    async start(context) {
      const { certPath, keyPath } = await benchCertificate(context.workDir);
      const script = join(context.repoRoot, 'bench/peers/bare-tls-proxy.ts');
      const { child, port } = await spawnPeer(context.children, 'bare-tls-proxy', [script, '0', context.upstreamOrigin, certPath, keyPath], undefined, loopDelayEnv(context.loopDelayDir));
      return { url: `https://127.0.0.1:${port}`, pid: child.process.pid!, ownsProcess: true };
    },
  },
  {
    name: 'portcullis-tls',
    description: 'wrk → Portcullis over TLS (TLS 1.3, HSTS), key auth on, 1,000 keys → upstream',
    needsKeyStore: true,
    compareTo: 'bare-tls',
    request: bearerGet,
    async start(context) {
      const { certPath, keyPath } = await benchCertificate(context.workDir);
      return startPortcullis(context, 'portcullis-tls', ['--tls-cert', certPath, '--tls-key', keyPath]);
    },
  },
  {
    // h2load, not wrk: one stream at a time per connection (`-m 1`), the same connections, one
    // key for every request (h2load sends the same header fields each time).
    name: 'bare-h2',
    description: 'h2load → bare node:http2 (allowHTTP1) + undici proxy → upstream; HTTP/2 over TLS, no checks (the Node.js limit over HTTP/2)',
    needsKeyStore: false,
    compareTo: null,
    loadGenerator: 'h2load',
    request: bearerGet,
    async start(context) {
      const { certPath, keyPath } = await benchCertificate(context.workDir);
      const script = join(context.repoRoot, 'bench/peers/bare-h2-proxy.ts');
      const { child, port } = await spawnPeer(context.children, 'bare-h2-proxy', [script, '0', context.upstreamOrigin, certPath, keyPath], undefined, loopDelayEnv(context.loopDelayDir));
      return { url: `https://127.0.0.1:${port}`, pid: child.process.pid!, ownsProcess: true };
    },
  },
  {
    name: 'portcullis-h2',
    description: 'h2load → Portcullis over TLS with tls.http2 (HTTP/2 requests through the same checks), key auth on, 1,000 keys → upstream',
    needsKeyStore: true,
    compareTo: 'bare-h2',
    alsoCompareTo: ['portcullis-tls'],
    loadGenerator: 'h2load',
    request: bearerGet,
    async start(context) {
      const { certPath, keyPath } = await benchCertificate(context.workDir);
      return startPortcullis(context, 'portcullis-h2', ['--tls-cert', certPath, '--tls-key', keyPath], { PORTCULLIS_TLS_HTTP2: 'true' });
    },
  },
  {
    // The limit is far above what wrk can send, so nothing is throttled: the row measures
    // what the limiter costs per request (a GCRA update and the RateLimit fields), not 429s.
    name: 'ratelimit-memory',
    description: 'as portcullis, plus a per-key rate limit (1,000,000/s, never reached) in memory',
    needsKeyStore: true,
    compareTo: 'portcullis',
    request: bearerGet,
    start: (context) => startPortcullis(context, 'ratelimit-memory', [], { PORTCULLIS_LIMITS_KEY_RATE: '1000000/s' }),
  },
  {
    name: 'ratelimit-redis',
    description: 'as ratelimit-memory, with the limit kept in Redis at 127.0.0.1:6379 (one EVALSHA per request)',
    needsKeyStore: true,
    compareTo: 'portcullis',
    request: bearerGet,
    start: (context) =>
      startPortcullis(context, 'ratelimit-redis', ['--redis', process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379'], {
        PORTCULLIS_LIMITS_KEY_RATE: '1000000/s',
        PORTCULLIS_REDIS_KEY_PREFIX: `portcullis-bench:${process.pid}:`,
      }),
  },
  {
    name: 'bare-post',
    description: 'wrk → bare proxy → upstream, a small JSON POST (the baseline of the POST rows)',
    needsKeyStore: false,
    compareTo: null,
    request: bearerJsonPost,
    start: (context) => startBareProxy(context, 'bare-proxy-post'),
  },
  {
    name: 'portcullis-post',
    description: 'wrk → Portcullis, key auth alone, the same small JSON POST (body streamed) → upstream',
    needsKeyStore: true,
    compareTo: 'bare-post',
    request: bearerJsonPost,
    start: (context) => startPortcullis(context, 'portcullis-post'),
  },
  {
    name: 'portcullis-validation',
    description: 'wrk → Portcullis, key auth + OpenAPI validation of the JSON POST (body read, parsed strictly, checked) → upstream',
    needsKeyStore: true,
    compareTo: 'portcullis-post',
    request: bearerJsonPost,
    start: (context) => startPortcullis(context, 'portcullis-validation', ['--openapi', join(context.repoRoot, 'bench/fixtures/orders-openapi.yaml')]),
  },
  {
    name: 'portcullis-access-log',
    description: 'as portcullis, plus one JSON access-log line per request (log.access: true)',
    needsKeyStore: true,
    compareTo: 'portcullis',
    request: bearerGet,
    start: (context) => startPortcullis(context, 'portcullis-access-log', [], { PORTCULLIS_LOG_ACCESS: 'true', PORTCULLIS_LOG_LEVEL: 'info' }),
  },
  {
    // 100 APIs (50 exact hosts, 25 wildcard hosts, 25 path prefixes; apis-row.ts), the requests
    // spread over all of them by Host field and path.
    name: 'apis-100',
    description: 'as portcullis, with 100 APIs under apis (50 exact hosts, 25 wildcard hosts, 25 path prefixes), requests rotating over all 100',
    needsKeyStore: true,
    compareTo: 'portcullis',
    request: apisGet,
    start: (context) => startApisRow(context, 'apis-100'),
  },
  {
    name: 'apis-100-one-host',
    description: 'as apis-100, every request to one API matched by a wildcard host',
    needsKeyStore: true,
    compareTo: 'portcullis',
    request: apisOneHostGet,
    onlyWhenNamed: true,
    start: (context) => startApisRow(context, 'apis-100-one-host'),
  },
  {
    // Every key is in its learning window (7 days from its first request) for the whole run, so
    // each request updates its key's profile and none is judged: no finding, no quarantine.
    name: 'anomaly',
    description: 'as portcullis, with anomaly.enabled (every key learning its profile; profiles flushed every 30 s)',
    needsKeyStore: true,
    compareTo: 'portcullis',
    request: bearerGet,
    start: (context) => startPortcullis(context, 'anomaly', [], ANOMALY_ENV),
  },
  {
    name: 'workers2',
    description: 'as portcullis, with --workers 2 (reuse-port balancing, the default)',
    needsKeyStore: true,
    compareTo: 'portcullis',
    request: bearerGet,
    start: (context) => startPortcullis(context, 'workers2', ['--workers', '2'], { PORTCULLIS_WORKER_BALANCING: 'reuse-port' }),
  },
  {
    name: 'workers2-cluster',
    description: 'as portcullis, with --workers 2 and cluster balancing (the supervisor accepts and hands connections over)',
    needsKeyStore: true,
    compareTo: 'portcullis',
    request: bearerGet,
    start: (context) => startPortcullis(context, 'workers2-cluster', ['--workers', '2'], { PORTCULLIS_WORKER_BALANCING: 'cluster' }),
  },
];
