import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { ServiceCheck } from '../../support/required-service.ts';
import type { RunningUpstream } from './running-upstream.ts';

const APP = join(import.meta.dirname, 'wsgi_upstream.py');

/** Whether python3 with wsgiref is on the machine (checked once, at load, because describeNeeding decides synchronously). */
export function checkPython(): ServiceCheck {
  const result = spawnSync('python3', ['-c', 'import wsgiref.simple_server, email.message, json'], { stdio: 'ignore', timeout: 10_000 });
  const unavailable = result.error
    ? `python3 could not be run (${result.error.message}); install Python 3 (apt-get install python3)`
    : result.status !== 0
      ? `python3 exited with ${result.status} importing wsgiref`
      : null;
  return { service: 'python3 (the WSGI upstream)', unavailable };
}

/** Starts wsgi_upstream.py on a free port and waits for it to print the port. */
export async function startWsgiUpstream(): Promise<RunningUpstream> {
  const child = spawn('python3', [APP], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the WSGI upstream did not start in 10 s; stderr:\n${stderr}`)), 10_000);
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const match = /^(\d+)\n/.exec(stdout);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the WSGI upstream exited with ${code} before listening; stderr:\n${stderr}`));
    });
  });
  return {
    name: 'wsgi',
    url: `http://127.0.0.1:${port}`,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
