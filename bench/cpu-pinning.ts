/**
 * Pinning benchmark processes to CPUs with `taskset` (util-linux), so a server under test has a
 * CPU that the load generator and the upstream never run on. Used by bench:shared-core and
 * bench:latency.
 */
import { execFileSync } from 'node:child_process';
import { cpus } from 'node:os';

/** The CPU the servers under test run on, and the one for everything that drives them. */
export const SERVER_CPU = '0';
export const LOAD_CPU = '1';

/** Pins a process and all its threads to `cpuList` (threads it starts later inherit it). */
export function pin(pid: number, cpuList: string): void {
  execFileSync('taskset', ['-a', '-p', '-c', cpuList, String(pid)], { stdio: 'ignore' });
}

/** Why pinning cannot be done here, or null when it can: it needs 2+ CPUs and `taskset`. */
export function pinningUnavailable(): string | null {
  if (cpus().length < 2) return 'needs at least 2 CPUs: one for the servers under test, one for the load and the upstream';
  try {
    execFileSync('taskset', ['-V'], { stdio: 'ignore' });
  } catch {
    return 'taskset is not installed (apt-get install util-linux)';
  }
  return null;
}
