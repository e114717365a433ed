/**
 * The benchmark's child processes: servers under test and wrk. Every child is
 * registered here so that one call stops them all, at the end of a run, on an
 * error, and on SIGINT; a process left behind would skew the next run.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';

/** How much of a child's stderr is kept for error messages. */
const stderrKeptBytes = 64 * 1024;

export interface ManagedChild {
  name: string;
  process: ChildProcess;
  /** The tail of what the child wrote to stderr. */
  stderr(): string;
  /** Resolves with the exit code (or signal name) when the child exits. */
  exited: Promise<string>;
}

export interface SpawnOptions {
  env?: Record<string, string>;
  cwd?: string;
  /** Called with each complete stdout line. */
  onLine?: (line: string) => void;
}

export class ChildProcesses {
  readonly #children = new Set<ManagedChild>();

  spawn(name: string, command: string, args: string[], options: SpawnOptions = {}): ManagedChild {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', function keepTail(chunk: string) {
      stderr = (stderr + chunk).slice(-stderrKeptBytes);
    });
    let partial = '';
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', function splitLines(chunk: string) {
      if (options.onLine === undefined) return;
      partial += chunk;
      let end: number;
      while ((end = partial.indexOf('\n')) !== -1) {
        options.onLine(partial.slice(0, end).trimEnd());
        partial = partial.slice(end + 1);
      }
    });
    const exited = new Promise<string>((resolve) => {
      child.once('exit', (code, signal) => resolve(signal ?? String(code)));
      child.once('error', (error) => resolve(`spawn failed: ${error.message}`));
    });
    const managed: ManagedChild = { name, process: child, stderr: () => stderr, exited };
    this.#children.add(managed);
    void exited.then(() => this.#children.delete(managed));
    return managed;
  }

  /** Stops one child: SIGTERM, then SIGKILL if it is still running after `graceMs`. */
  async stop(child: ManagedChild, graceMs = 2000): Promise<void> {
    if (child.process.exitCode !== null || child.process.signalCode !== null) return;
    child.process.kill('SIGTERM');
    const timer = setTimeout(() => child.process.kill('SIGKILL'), graceMs);
    await child.exited;
    clearTimeout(timer);
  }

  /** Stops the child with this process id, if it is one of ours (a row's server between rounds). */
  async stopPid(pid: number): Promise<void> {
    for (const child of this.#children) if (child.process.pid === pid) await this.stop(child);
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.#children].map((child) => this.stop(child)));
  }

  /** Last resort from a synchronous `exit` handler: no waiting, no grace. */
  killAllNow(): void {
    for (const child of this.#children) {
      if (child.process.exitCode === null && child.process.signalCode === null) child.process.kill('SIGKILL');
    }
  }
}

/**
 * Spawns a bench peer that prints `listening <port>` when ready and resolves
 * with that port. Fails with the child's stderr if it exits or stays silent.
 */
export function spawnPeer(
  children: ChildProcesses,
  name: string,
  args: string[],
  timeoutMs = 10_000,
  env: Record<string, string> = {},
): Promise<{ child: ManagedChild; port: number }> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const child = children.spawn(name, process.execPath, args, {
      env,
      onLine(line) {
        const match = /^listening (\d+)$/.exec(line);
        if (match === null || settled) return;
        settled = true;
        clearTimeout(timer);
        resolve({ child, port: Number(match[1]) });
      },
    });
    const timer = setTimeout(() => {
      if (settled) return;
      settled = true;
      reject(new Error(`${name} did not print "listening <port>" within ${timeoutMs} ms:\n${child.stderr()}`));
    }, timeoutMs);
    void child.exited.then((code) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(new Error(`${name} exited (${code}) before listening:\n${child.stderr()}`));
    });
  });
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
