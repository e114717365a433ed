/**
 * Processes under test, from /proc (Linux): the tree under a process, to signal as a whole
 * (a fault test freezes a server with SIGSTOP rather than stopping it: its sockets stay open
 * and its TCP backlog keeps accepting, so clients see a server that hangs, not one that
 * refuses), and the client connections a process holds.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

function parentOf(pid: number): number | null {
  try {
    // The command name (2nd field) is in parentheses and may hold spaces: read after the last ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[1]);
  } catch {
    return null;
  }
}

/** `root` and every process descending from it, `root` first. */
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    const parent = parentOf(pid);
    if (parent === null) continue;
    children.set(parent, [...(children.get(parent) ?? []), pid]);
  }
  const tree: number[] = [];
  const pending = [root];
  while (pending.length > 0) {
    const pid = pending.shift() as number;
    tree.push(pid);
    pending.push(...(children.get(pid) ?? []));
  }
  return tree;
}

/** Sends `signal` to each process that still exists; returns those it reached. */
export function signalEach(pids: readonly number[], signal: NodeJS.Signals): number[] {
  const reached: number[] = [];
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
      reached.push(pid);
    } catch {
      // Gone already.
    }
  }
  return reached;
}

/**
 * Freezes `root` and its descendants with SIGSTOP (the root first, so it forks no new child
 * meanwhile); the returned function thaws them all with SIGCONT.
 */
export function freezeTree(root: number): { pids: number[]; thaw: () => void } {
  signalEach([root], 'SIGSTOP');
  const pids = processTree(root);
  signalEach(pids, 'SIGSTOP');
  return { pids, thaw: () => void signalEach([...pids].reverse(), 'SIGCONT') };
}

/** Socket inodes a process holds open (from its /proc fd links). */
function socketInodes(pid: number): Set<string> {
  const inodes = new Set<string>();
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (match) inodes.add(match[1] as string);
      } catch {
        // Closed meanwhile.
      }
    }
  } catch {
    // The process is gone.
  }
  return inodes;
}

/**
 * How many established TCP connections on local port `port` the process `pid` holds (IPv4 and
 * IPv6, from /proc/net/tcp*): with SO_REUSEPORT, which of several processes serves a client's
 * connections is the kernel's choice, and this tells.
 */
export function establishedConnections(pid: number, port: number): number {
  const inodes = socketInodes(pid);
  const portHex = port.toString(16).toUpperCase().padStart(4, '0');
  let count = 0;
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let lines: string[];
    try {
      lines = readFileSync(table, 'utf8').split('\n').slice(1);
    } catch {
      continue;
    }
    for (const line of lines) {
      const fields = line.trim().split(/\s+/);
      // local_address is fields[1] (ADDR:PORT in hex), st is fields[3] (01: ESTABLISHED), inode is fields[9].
      if (fields.length > 9 && fields[1]!.endsWith(`:${portHex}`) && fields[3] === '01' && inodes.has(fields[9]!)) count++;
    }
  }
  return count;
}
