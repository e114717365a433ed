import { freePort } from './free-port.ts';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';

export const SHARED_REDIS_URL = 'redis://127.0.0.1:6379';
export const REDIS_SERVER_BINARY = '/usr/bin/redis-server';

/** A key prefix no other test (or engineer sharing this Redis) uses. */
export function uniqueRedisPrefix(): string {
  return `portcullis-test:${randomBytes(6).toString('hex')}:`;
}

/** Whether a Redis answers PING at `url` within a second. */
export async function redisAnswers(url: string = SHARED_REDIS_URL): Promise<boolean> {
  const client = new Redis(url, { lazyConnect: true, connectTimeout: 1000, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
  client.on('error', () => {});
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

/**
 * The `skip` option for a suite that needs Redis: false when it answers; a reason to skip
 * when it does not. Under CI (CI set) a missing Redis is a failure, not a skip.
 */
export async function skipUnlessRedis(url: string = SHARED_REDIS_URL): Promise<false | string> {
  if (await redisAnswers(url)) return false;
  if (process.env.CI) throw new Error(`Redis is required under CI but does not answer at ${url}`);
  return `Redis does not answer at ${url}: start one (redis-server --port 6379) to run these tests`;
}

export { freePort };

export interface OwnRedis {
  url: string;
  port: number;
  process: ChildProcess;
  /** Kills it at once (SIGKILL), as a crash would. */
  kill(): Promise<void>;
}

/** Starts a private redis-server on loopback at `port`, without persistence, and waits until it answers. */
export async function startOwnRedis(port: number): Promise<OwnRedis> {
  const child = spawn(REDIS_SERVER_BINARY, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  const url = `redis://127.0.0.1:${port}`;
  const deadline = Date.now() + 10_000;
  while (!(await redisAnswers(url))) {
    if (child.exitCode !== null) throw new Error(`redis-server on port ${port} exited with ${child.exitCode}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`redis-server on port ${port} did not answer within 10 s (killed)`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    url,
    port,
    process: child,
    kill: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGKILL');
      }),
  };
}
