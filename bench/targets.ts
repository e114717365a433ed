/**
 * The rows of the benchmark, as data. A row says how to start what it measures
 * and what its requests look like; run.ts does the rest. Later rows (TLS, rate
 * limits, validation, workers) are one more entry here, usually a
 * `startPortcullis` call with extra flags.
 */
import { join } from 'node:path';
import type { ChildProcesses } from './child-processes.ts';
import { spawnPeer } from './child-processes.ts';
import { startPortcullis } from './portcullis-process.ts';
import { bearerGet } from './wrk.ts';
import type { RequestShape } from './wrk.ts';

/** What a row's `start` can use; prepared by run.ts before any row starts. */
export interface BenchContext {
  children: ChildProcesses;
  /** The project root (where src/cli/main.ts lives). */
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
  /** Starts what the row measures. */
  start(context: BenchContext): Promise<StartedTarget>;
}

export interface StartedTarget {
  /** Where wrk sends its requests. */
  url: string;
  /** The process whose CPU time (with its descendants') the row charges to itself. */
  pid: number;
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
    async start(context) {
      const script = join(context.repoRoot, 'bench/peers/bare-proxy.ts');
      const { child, port } = await spawnPeer(context.children, 'bare-proxy', [script, '0', context.upstreamOrigin]);
      return { url: `http://127.0.0.1:${port}`, pid: child.process.pid! };
    },
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
