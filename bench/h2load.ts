/**
 * Drives h2load (nghttp2's HTTP/2 load generator) for the HTTP/2 rows, which wrk cannot speak:
 * finds it, runs one timed measurement and reads its figures (h2load-output.ts).
 */
import { once } from 'node:events';
import { readFile, rm } from 'node:fs/promises';
import type { ChildProcesses } from './child-processes.ts';
import { h2loadFigures } from './h2load-output.ts';
import { findExecutable } from './wrk.ts';
import type { RequestShape, WrkRun, WrkSettings } from './wrk.ts';

/** The path of h2load on PATH, or null. */
export function findH2load(): string | null {
  return findExecutable('h2load');
}

/**
 * Seconds without any activity after which h2load gives a connection up: wrk's default request
 * timeout (2 s). It also ends h2load's wait, after the measured time, for connections the server
 * has not closed, which would otherwise last for ever.
 */
const INACTIVITY_TIMEOUT_SECONDS = 2;

/** The line h2load prints when the measured time ends (its clients then stop). */
const MEASURED_TIME_OVER = /^Main benchmark duration is over/;

/**
 * One timed run: `-c <connections> -m 1` (one stream at a time per connection, as wrk sends one
 * request at a time per connection), `-t <threads>`, `-D <seconds>`, the shape's header fields
 * and `Authorization: Bearer <first token>` (h2load sends the same header fields on every
 * request: no rotation). `onMeasuredTimeOver` is called when the measured time ends, before
 * h2load closes its connections. Only GET shapes without a request list or rotating targets.
 */
export async function runH2load(
  children: ChildProcesses,
  h2loadPath: string,
  url: string,
  shape: RequestShape,
  tokens: readonly string[],
  settings: WrkSettings & { logPath: string; onMeasuredTimeOver?: () => void },
): Promise<WrkRun> {
  if (shape.method !== 'GET' || shape.body !== null || shape.headerList === true || shape.rotateTargets !== undefined) {
    throw new Error('h2load rows send a plain GET: no body, request list or rotating targets');
  }
  const headers = Object.entries(shape.headers).map(([name, value]) => `${name}: ${value}`);
  if (shape.rotateBearer) {
    if (tokens.length === 0) throw new Error('rotateBearer needs at least one token');
    headers.push(`authorization: Bearer ${tokens[0]!}`);
  }
  const args = [
    '-c', String(settings.connections),
    '-m', '1',
    '-t', String(settings.threads),
    '-D', String(settings.durationSeconds),
    '-N', String(INACTIVITY_TIMEOUT_SECONDS),
    ...headers.flatMap((header) => ['-H', header]),
    `--log-file=${settings.logPath}`,
    new URL(shape.path, url).href,
  ];
  let report = '';
  // Pinned to some CPUs (BENCH_PIN) by starting it under `taskset -c`, as wrk is.
  const [command, commandArgs] = settings.cpus === undefined ? [h2loadPath, args] : ['taskset', ['-c', settings.cpus, h2loadPath, ...args]];
  const child = children.spawn('h2load', command, commandArgs, {
    onLine(line) {
      // Progress lines say nothing the report keeps.
      if (line.startsWith('progress: ')) return;
      report += `${line}\n`;
      if (MEASURED_TIME_OVER.test(line)) settings.onMeasuredTimeOver?.();
    },
  });
  const [exitCode, signal] = await once(child.process, 'close') as [number | null, string | null];
  const code = signal ?? String(exitCode);
  if (code !== '0') throw new Error(`h2load ${args.join(' ')} exited (${code}):\n${report}${child.stderr()}`);
  const log = await readFile(settings.logPath, 'utf8').catch(() => '');
  await rm(settings.logPath, { force: true });
  return { figures: h2loadFigures(report, log, settings.connections), report };
}
