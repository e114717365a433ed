import { spawn } from 'node:child_process';

export interface ToolResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs an external client (curl, openssl, sslscan) with no stdin and a time limit. */
export function runTool(command: string, args: readonly string[], timeoutMs = 20_000): Promise<ToolResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`${command} could not be run (${error.message}); install it (apt-get install ${command}), or guard the test with requireTools('${command}') (required-service.ts)`));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Polls `probe` until it returns true or `timeoutMs` passes. */
export async function eventually(probe: () => Promise<boolean>, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await probe()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}
