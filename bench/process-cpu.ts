/**
 * CPU time used by a process and its descendants (e.g. `--workers` children),
 * read from Linux's /proc. Divided by the requests served, it gives CPU per
 * request: a figure that a busy neighbour on a shared machine disturbs far
 * less than req/s or latency, because it counts only the time the server
 * itself ran. Returns null where /proc is not available.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

let ticksPerSecond: number | null = null;

function clockTicks(): number {
  if (ticksPerSecond === null) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

interface ProcessTicks {
  parent: number;
  /** utime + stime, in clock ticks. */
  ticks: number;
}

/** Fields of /proc/<pid>/stat (proc(5)); the command name in parentheses may itself hold spaces. */
function readStat(pid: number): ProcessTicks | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // After the name: state(3) ppid(4) … utime(14) stime(15), so index = field - 3.
    return { parent: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]) };
  } catch {
    return null;
  }
}

/** Every live process's stat, by pid; null without /proc. */
function readAllStats(): Map<number, ProcessTicks> | null {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return null;
  }
  const stats = new Map<number, ProcessTicks>();
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readStat(Number(entry));
    if (stat !== null) stats.set(Number(entry), stat);
  }
  return stats;
}

/** `rootPid` and its live descendants, from `stats`. */
function treeOf(stats: Map<number, ProcessTicks>, rootPid: number): number[] {
  const children = new Map<number, number[]>();
  for (const [pid, stat] of stats) {
    const siblings = children.get(stat.parent);
    if (siblings === undefined) children.set(stat.parent, [pid]);
    else siblings.push(pid);
  }
  const tree: number[] = [];
  const pending = [rootPid];
  while (pending.length > 0) {
    const pid = pending.pop()!;
    tree.push(pid);
    pending.push(...(children.get(pid) ?? []));
  }
  return tree;
}

/** `rootPid` and every live descendant (empty without /proc or when it is gone). */
export function processTreePids(rootPid: number): number[] {
  const stats = readAllStats();
  return stats === null || !stats.has(rootPid) ? [] : treeOf(stats, rootPid);
}

/** Milliseconds of CPU used so far by `rootPid` and every live descendant, or null without /proc. */
export function processTreeCpuMs(rootPid: number): number | null {
  const stats = readAllStats();
  if (stats === null || !stats.has(rootPid)) return null;
  let ticks = 0;
  for (const pid of treeOf(stats, rootPid)) ticks += stats.get(pid)?.ticks ?? 0;
  return (ticks * 1000) / clockTicks();
}
