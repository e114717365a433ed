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
import { bearerGet, bearerJsonPost } from './wrk.ts';
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
  request: RequestShape;
  /** Run only when BENCH_ONLY (or BENCH_PAIR) names it, never in a run of every row. */
  onlyWhenNamed?: boolean;
  /** Starts what the row measures. */
  start(context: BenchContext): Promise<StartedTarget>;
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
