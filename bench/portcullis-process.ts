/**
 * Starts Portcullis the way an operator would (`node src/cli/main.js serve`)
 * on its own copy of the seeded key store, and waits until it serves an
 * authenticated request.
 */
import { access, copyFile, rm } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { freePort } from '../test/support/free-port.ts';
import { delay } from './child-processes.ts';
import type { ManagedChild } from './child-processes.ts';
import { loopDelayEnv } from './loop-delay.ts';
import type { BenchContext, StartedTarget } from './targets.ts';

// The CLI takes an explicit port; the other bench scripts take theirs from here too.
export { freePort };

const readyTimeoutMs = 15_000;

/** How a row's gateway differs from the standard start, beyond flags and environment. */
interface PortcullisStartOptions {
  /** Pass `--upstream <the shared upstream>` (default). Off for a config whose `apis` name their own upstreams. */
  upstreamFlag?: boolean;
  /** The path (and `Host` field, when given) of the start-up checks: a keyed request must get 200, a keyless one not. Default `GET /`. */
  probe?: { path: string; host?: string };
}

/**
 * Starts one Portcullis for the row `name`. `extraArgs` go after the standard
 * `serve` flags (later rows add e.g. `--workers 2` or `--config <file>`).
 */
export async function startPortcullis(
  context: BenchContext,
  name: string,
  extraArgs: readonly string[] = [],
  env: Record<string, string> = {},
  options: PortcullisStartOptions = {},
): Promise<StartedTarget> {
  // Older checkouts (BENCH_OTHER_CHECKOUT) start from src/cli/main.ts.
  const main = (await exists(join(context.repoRoot, 'src/cli/main.js'))) ? join(context.repoRoot, 'src/cli/main.js') : join(context.repoRoot, 'src/cli/main.ts');
  if (!await exists(main)) {
    throw new Error(`Portcullis's CLI (${main}) does not exist yet; run only the baselines with BENCH_ONLY=direct,bare`);
  }
  if (context.seededStorePath === null || context.tokens.length === 0) {
    throw new Error(`row ${name} needs the seeded key store; give it needsKeyStore: true`);
  }
  const store = await copyStore(context.seededStorePath, join(context.workDir, `${name}.db`));
  const port = await freePort();
  // A row with --tls-cert is served (and checked) over https; wrk does not verify certificates.
  const scheme = extraArgs.includes('--tls-cert') ? 'https' : 'http';
  const child = context.children.spawn(name, process.execPath, [
    main, 'serve',
    '--listen', `127.0.0.1:${port}`,
    ...(options.upstreamFlag === false ? [] : ['--upstream', context.upstreamOrigin]),
    '--store', store,
    ...extraArgs,
  ], {
    // Its own cwd, so a portcullis.yaml or ./data in the checkout cannot leak in.
    cwd: context.workDir,
    // No admin listener: rows run side by side, and it is not on the request path.
    env: { PORTCULLIS_LOG_LEVEL: 'warn', PORTCULLIS_ADMIN_LISTEN: '', ...loopDelayEnv(context.loopDelayDir), ...env },
  });
  await waitUntilServing(child, scheme, port, context.tokens[0]!, options.probe);
  // A gateway that let everyone through would post flattering figures.
  const anonymous = await statusOf(scheme, port, null, options.probe);
  if (anonymous === 200) throw new Error(`${name} answered 200 to a request without a key: key auth is not on`);
  return { url: `${scheme}://127.0.0.1:${port}`, pid: child.process.pid!, ownsProcess: true };
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/** Each row gets its own copy, so rows never share a database file (or its usage writes). */
async function copyStore(source: string, destination: string): Promise<string> {
  // A row started afresh for a new round must not pick up the last process's WAL.
  for (const suffix of ['-wal', '-shm']) await rm(destination + suffix, { force: true });
  await copyFile(source, destination);
  for (const suffix of ['-wal', '-shm']) {
    if (await exists(source + suffix)) await copyFile(source + suffix, destination + suffix);
  }
  return destination;
}


function acceptsConnection(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** The status of `GET /` or of the probe (with the key, if given), or null when the request fails. */
function statusOf(scheme: 'http' | 'https', port: number, key: string | null, probe: PortcullisStartOptions['probe'] = { path: '/' }): Promise<number | null> {
  return new Promise((resolve) => {
    const request = scheme === 'https' ? httpsRequest : httpRequest;
    const req = request({
      rejectUnauthorized: false,
      host: '127.0.0.1',
      port,
      path: probe.path,
      headers: { ...(probe.host === undefined ? {} : { host: probe.host }), ...(key === null ? {} : { authorization: `Bearer ${key}` }) },
      agent: false,
      timeout: 2000,
    }, (res) => {
      res.resume();
      res.once('end', () => resolve(res.statusCode ?? null));
    });
    req.once('timeout', () => req.destroy());
    req.once('error', () => resolve(null));
    req.end();
  });
}

export async function waitUntilServing(child: ManagedChild, scheme: 'http' | 'https', port: number, key: string, probe?: PortcullisStartOptions['probe']): Promise<void> {
  const deadline = Date.now() + readyTimeoutMs;
  let lastStatus: number | null = null;
  while (Date.now() < deadline) {
    if (child.process.exitCode !== null || child.process.signalCode !== null) {
      throw new Error(`${child.name} exited (${child.process.exitCode ?? child.process.signalCode}) while starting:\n${child.stderr()}`);
    }
    if (await acceptsConnection(port)) {
      lastStatus = await statusOf(scheme, port, key, probe);
      if (lastStatus === 200) return;
    }
    await delay(100);
  }
  const seen = lastStatus === null ? 'no HTTP answer' : `last authenticated GET answered ${lastStatus}`;
  throw new Error(`${child.name} was not serving on 127.0.0.1:${port} within ${readyTimeoutMs / 1000} s (${seen}):\n${child.stderr()}`);
}
