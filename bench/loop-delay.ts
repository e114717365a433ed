/**
 * The harness side of bench/loop-delay-probe.ts: the environment that preloads the probe into a
 * row's server processes, and `markLoopDelay`, which asks every probed process of a row's tree
 * for the delay it saw since the last mark. The row's figure is its worst process (with
 * `--workers`, the busiest worker).
 */
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { delay } from './child-processes.ts';
import { processTreePids } from './process-cpu.ts';

/** Event-loop delay over one measured stretch, in ms. */
export interface LoopDelay {
  maxMs: number;
  p99Ms: number;
  /** The longest delay the loop spent on CPU, not off it (bench/loop-delay-probe.ts). */
  onCpuMaxMs: number;
}

interface ProbeReport extends LoopDelay {
  seq: number;
  count: number;
}

const PROBE = resolve(import.meta.dirname, 'loop-delay-probe.ts');
const ANSWER_TIMEOUT_MS = 2000;

/** Environment for a row's server: preloads the probe, which writes into `directory` (none when null: not probed). */
export function loopDelayEnv(directory: string | null): Record<string, string> {
  if (directory === null) return {};
  mkdirSync(directory, { recursive: true });
  const inherited = process.env['NODE_OPTIONS'] ?? '';
  return { NODE_OPTIONS: `${inherited} --import=${PROBE}`.trim(), BENCH_LOOP_DELAY_DIR: directory };
}

function readReport(directory: string, pid: number): ProbeReport | null {
  try {
    return JSON.parse(readFileSync(join(directory, `${pid}.json`), 'utf8')) as ProbeReport;
  } catch {
    return null;
  }
}

/**
 * Asks each probed process under `rootPid` for its delay since its last mark (and so starts
 * the next stretch); null when none of them carries the probe. Only processes that wrote a
 * report are signalled: SIGUSR2 ends a Node process that has no handler for it.
 */
export async function markLoopDelay(directory: string, rootPid: number): Promise<LoopDelay | null> {
  const probed = new Set(readdirSync(directory).map((name) => Number.parseInt(name, 10)));
  const pids = processTreePids(rootPid).filter((pid) => probed.has(pid));
  if (pids.length === 0) return null;
  const before = new Map(pids.map((pid) => [pid, readReport(directory, pid)?.seq ?? -1]));
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGUSR2');
    } catch {
      before.delete(pid);
    }
  }
  const deadline = Date.now() + ANSWER_TIMEOUT_MS;
  const answers: ProbeReport[] = [];
  for (const [pid, seq] of before) {
    for (;;) {
      const report = readReport(directory, pid);
      if (report !== null && report.seq > seq) {
        answers.push(report);
        break;
      }
      if (Date.now() > deadline) break;
      await delay(5);
    }
  }
  if (answers.length === 0) return null;
  return { maxMs: Math.max(...answers.map((answer) => answer.maxMs)), p99Ms: Math.max(...answers.map((answer) => answer.p99Ms)), onCpuMaxMs: Math.max(...answers.map((answer) => answer.onCpuMaxMs)) };
}
