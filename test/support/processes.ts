import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const PROJECT_ROOT = resolve(import.meta.dirname, '..', '..');
const MAIN = join(PROJECT_ROOT, 'src', 'cli', 'main.js');

/**
 * Every child process a helper started and that has not exited yet. Each helper kills its own
 * on every path (a timeout included); this is the last line: whatever is left when the test
 * file's process exits is killed too, so no gateway outlives its test file.
 */
const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** Spawns and tracks a child until it exits. */
function spawnTracked(args: readonly string[], options: { cwd: string; env: NodeJS.ProcessEnv }): ChildProcess {
  const child = spawn(process.execPath, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  child.on('exit', () => running.delete(child));
  child.on('error', () => running.delete(child));
  return child;
}

/** How long a CLI command may take before it is killed (the test then fails, naming it). */
const CLI_TIMEOUT_MS = 60_000;

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the real CLI in its own process on this Node.js, as a user would; killed after 60 s. */
export function runCli(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<CliResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawnTracked([MAIN, ...args], { cwd: options.cwd ?? PROJECT_ROOT, env: { ...process.env, ...options.env } });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, options.timeoutMs ?? CLI_TIMEOUT_MS);
    child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (timedOut) reject(new Error(`portcullis ${args.join(' ')} did not finish in ${options.timeoutMs ?? CLI_TIMEOUT_MS} ms (killed); stderr:\n${stderr}`));
      else resolvePromise({ code, stdout, stderr });
    });
  });
}

/** Creates a key through the CLI and returns its id and plaintext. */
export async function createKeyWithCli(store: string, extraArgs: string[] = []): Promise<{ id: string; key: string }> {
  const result = await runCli(['keys', 'create', '--store', store, '--json', '--name', 'test-client', ...extraArgs]);
  if (result.code !== 0) throw new Error(`keys create failed (${result.code}): ${result.stderr}`);
  const parsed = JSON.parse(result.stdout) as { id: string; key: string };
  return { id: parsed.id, key: parsed.key };
}

export interface GatewayProcess {
  url: string;
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
  stop(): Promise<number | null>;
}

/**
 * Starts `portcullis serve` as a child process and waits for its "gateway listening" log line.
 * A gateway that does not start within 15 s is killed before the promise rejects.
 */
export async function spawnGateway(args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<GatewayProcess> {
  // A free admin port too, so gateways started side by side never fight over the default one.
  const child = spawnTracked([MAIN, 'serve', '--listen', '127.0.0.1:0', '--admin-listen', '127.0.0.1:0', ...args], {
    cwd: options.cwd ?? PROJECT_ROOT,
    env: { ...process.env, PORTCULLIS_LOG_LEVEL: 'info', ...options.env },
  });
  let stdout = '';
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolvePromise) => child.on('exit', (code) => resolvePromise(code)));
  const url = await new Promise<string>((resolvePromise, reject) => {
    const timer = setTimeout(() => {
      // Not left running: its pipes would keep the test file alive long after the test failed.
      child.kill('SIGKILL');
      reject(new Error(`gateway did not start in 15 s (killed); stderr:\n${stderr}\nstdout:\n${stdout}`));
    }, 15_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const match = /"listen":"([^"]+)".*"msg":"gateway listening"/.exec(stdout);
      if (match) {
        clearTimeout(timer);
        resolvePromise(`http://${match[1]}`);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`gateway exited with ${code} before listening; stderr:\n${stderr}`));
    });
  });
  return {
    url,
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    exited,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

/** A temporary directory removed when the returned function is called. */
export function temporaryDirectory(): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), 'portcullis-test-'));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}
