import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { deserialize, serialize } from 'node:v8';

/**
 * Runs a Node.js script to its answer while the caller waits, so that synchronous start-up
 * code can use an asynchronous library, and so that what the script held is given back to the
 * operating system when it exits (a worker thread's heap is not: the process keeps it). The
 * input and the answer cross stdin and stdout in V8's serialisation (structured clone: plain
 * data, shared objects kept shared).
 */

/** Starts `entry` with `input`, waits for it (at most `timeoutMs`) and returns its answer. */
export function runChildSynchronously(entry: URL, input: unknown, timeoutMs: number): unknown {
  const child = spawnSync(process.execPath, [fileURLToPath(entry)], {
    input: serialize(input),
    timeout: timeoutMs,
    maxBuffer: 1024 * 1024 * 1024,
    windowsHide: true,
  });
  if (child.error !== undefined) throw new Error(`${entry.pathname}: ${child.error.message}`, { cause: child.error });
  if (child.status !== 0) throw new Error(`${entry.pathname} exited with ${child.status ?? child.signal}: ${child.stderr.toString('utf8').trim().slice(-2000)}`);
  return deserialize(child.stdout) as unknown;
}

/** In the child: the input the parent sent. */
export function childInput(): unknown {
  return deserialize(readFileSync(0)) as unknown;
}

/** In the child: sends the answer (once, as the last thing it does). */
export function answerParent(answer: unknown): void {
  process.stdout.write(serialize(answer));
}
