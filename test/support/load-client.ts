import { Agent, request, type Dispatcher } from 'undici';

/** An undici agent whose connections leave from `localAddress` (a loopback address such as 127.0.0.2). */
export function agentFrom(localAddress: string): Agent {
  return new Agent({ localAddress, keepAliveTimeout: 10_000 });
}

export interface HammerResult {
  byStatus: Map<number, number>;
  /** From the first request sent to the last response received. */
  spanMs: number;
  /** When each 429 arrived, in ms since the first request was sent, in order. */
  refusedAtMs: number[];
}

/**
 * `concurrency` clients per URL, each sending GET requests with `key` back to back until
 * `durationMs` has passed. Bounded in time and loopback only.
 */
export async function hammer(urls: readonly string[], key: string, durationMs: number, concurrency: number, dispatcher?: Dispatcher): Promise<HammerResult> {
  const byStatus = new Map<number, number>();
  const started = performance.now();
  const deadline = started + durationMs;
  let lastEnd = started;
  const refusedAtMs: number[] = [];
  async function client(url: string): Promise<void> {
    while (performance.now() < deadline) {
      const response = await request(`${url}/load`, { headers: { authorization: `Bearer ${key}` }, ...(dispatcher ? { dispatcher } : {}) });
      await response.body.dump();
      lastEnd = performance.now();
      byStatus.set(response.statusCode, (byStatus.get(response.statusCode) ?? 0) + 1);
      if (response.statusCode === 429) refusedAtMs.push(lastEnd - started);
    }
  }
  await Promise.all(urls.flatMap((url) => Array.from({ length: concurrency }, () => client(url))));
  return { byStatus, spanMs: lastEnd - started, refusedAtMs };
}
