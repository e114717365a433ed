import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const PROJECT_ROOT = resolve(import.meta.dirname, '..', '..');
const MAIN = join(PROJECT_ROOT, 'src', 'cli', 'main.js');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the real CLI in its own process on this Node.js, as a user would. */
export function runCli(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], { cwd: options.cwd ?? PROJECT_ROOT, env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ code, stdout, stderr }));
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

/** Starts `portcullis serve` as a child process and waits for its "gateway listening" log line. */
export async function spawnGateway(args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<GatewayProcess> {
  // A free admin port too, so gateways started side by side never fight over the default one.
  const child = spawn(process.execPath, [MAIN, 'serve', '--listen', '127.0.0.1:0', '--admin-listen', '127.0.0.1:0', ...args], {
    cwd: options.cwd ?? PROJECT_ROOT,
    env: { ...process.env, PORTCULLIS_LOG_LEVEL: 'info', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolvePromise) => child.on('exit', (code) => resolvePromise(code)));
  const url = await new Promise<string>((resolvePromise, reject) => {
    const timer = setTimeout(() => reject(new Error(`gateway did not start in 15 s; stderr:\n${stderr}\nstdout:\n${stdout}`)), 15_000);
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
