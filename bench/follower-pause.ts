/**
 * How long the change feed's polls hold the request thread's event loop on SQLite: a follower
 * reading the store on this thread, and one reading through the change feed thread
 * (src/store/feed-thread/), in alternating rounds with an A/A pair (this thread twice). Each
 * run has two phases, each FOLLOWER_PAUSE_SECONDS long, at the default poll interval (50 ms):
 * polls only (nothing changes), then polls that apply changes (a burst of
 * FOLLOWER_PAUSE_BURST key changes every 250 ms, made by a writer thread so that writing costs
 * this thread nothing). The key cache holds every key, so every change is applied. Prints the
 * event-loop delay (`monitorEventLoopDelay`, 1 ms resolution) max and p99 of each phase, the
 * share of the time the loop was busy (event-loop utilization), and the medians over the rounds.
 *
 *   node bench/follower-pause.ts   (FOLLOWER_PAUSE_ROUNDS, default 3; FOLLOWER_PAUSE_KEYS, 2000;
 *                                   FOLLOWER_PAUSE_BURST, 200; FOLLOWER_PAUSE_SECONDS, 2)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { digestKey } from '../src/keys/key-digest.ts';
import { CLI_ACTOR } from '../src/store/audit-log.ts';
import type { ChangeFeedReads } from '../src/store/change-feed-reads.ts';
import { ChangeFeedThread } from '../src/store/feed-thread/change-feed-thread.ts';
import { openKeyStore } from '../src/store/open-key-store.ts';
import type { Store } from '../src/store/store.ts';
import { ChangeFeedFollower } from '../src/verify/change-feed-follower.ts';
import { KeyVerifier } from '../src/verify/key-verifier.ts';
import { envNumber } from './bench-env.ts';
import { median } from './report.ts';
import { seedKeyStore } from './seed-key-store.ts';

const POLL_INTERVAL = 50;
const BURST_EVERY = 250;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Pause {
  maxMs: number;
  p99Ms: number;
  /** The share of the time this thread's loop was busy (event-loop utilization), %. */
  busy: number;
}

/** The writer thread: each message asks for `count` key changes (quarantine, then release next time). */
async function writeChanges(path: string): Promise<void> {
  const store = await openKeyStore(path);
  const ids = (await store.listKeys({ limit: 100_000 })).map((key) => key.id);
  let next = 0;
  let round = 0;
  parentPort!.on('message', async (count: number) => {
    const quarantine = round % 2 === 0;
    for (let index = 0; index < count; index++) {
      const id = ids[(next + index) % ids.length]!;
      if (quarantine) await store.quarantineKey(id, 'bench', Date.now(), CLI_ACTOR);
      else await store.releaseKey(id, 'bench', Date.now(), CLI_ACTOR);
    }
    if (!quarantine) next += count;
    round++;
    parentPort!.postMessage('done');
  });
  parentPort!.postMessage('ready');
}

function histogramOver(ms: number, during: () => Promise<unknown> = () => sleep(ms)): Promise<Pause> {
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  histogram.enable();
  const utilization = performance.eventLoopUtilization();
  return during().then(() => {
    histogram.disable();
    return { maxMs: histogram.max / 1e6, p99Ms: histogram.percentile(99) / 1e6, busy: performance.eventLoopUtilization(utilization).utilization * 100 };
  });
}

async function measure(reads: Store | ChangeFeedReads, store: Store, digests: readonly string[], writer: Worker, seconds: number, burst: number): Promise<{ idle: Pause; changes: Pause }> {
  const verifier = new KeyVerifier(store, { maxKeys: digests.length * 2, maxUnknown: 1000, staleFor: 60_000 });
  for (const digest of digests) await verifier.lookup(digest);
  const follower = new ChangeFeedFollower(reads, verifier, { pollInterval: POLL_INTERVAL, onError: (error) => { throw error; } });
  await follower.start();
  await sleep(200);
  const idle = await histogramOver(seconds * 1000);
  const changes = await histogramOver(seconds * 1000, async () => {
    const until = performance.now() + seconds * 1000;
    while (performance.now() < until) {
      const written = new Promise((resolve) => writer.once('message', resolve));
      writer.postMessage(burst);
      await Promise.all([written, sleep(BURST_EVERY)]);
    }
  });
  await follower.stop();
  return { idle, changes };
}

if (!isMainThread) {
  await writeChanges((workerData as { path: string }).path);
} else {
  const rounds = envNumber('FOLLOWER_PAUSE_ROUNDS', 3, { integer: true });
  const keyCount = envNumber('FOLLOWER_PAUSE_KEYS', 2000, { integer: true });
  const burst = envNumber('FOLLOWER_PAUSE_BURST', 200, { integer: true });
  const seconds = envNumber('FOLLOWER_PAUSE_SECONDS', 2);
  const directory = mkdtempSync(join(tmpdir(), 'portcullis-follower-pause-'));
  try {
    const path = join(directory, 'keys.db');
    const digests = (await seedKeyStore(path, keyCount)).map((key) => digestKey(key));
    const store = await openKeyStore(path);
    const writer = new Worker(new URL(import.meta.url), { workerData: { path } });
    await new Promise((resolve) => writer.once('message', resolve));
    const thread = new ChangeFeedThread(path, { onCrash: (error) => { throw error; } });
    const runs: Record<string, Array<{ idle: Pause; changes: Pause }>> = { 'this thread': [], 'feed thread': [], 'this thread again (A/A)': [] };
    const ways: Array<[string, Store | ChangeFeedReads]> = [['this thread', store], ['feed thread', thread], ['this thread again (A/A)', store]];
    for (let round = 0; round < rounds; round++) {
      // The order turns every round, so no way always runs first.
      for (let turn = 0; turn < ways.length; turn++) {
        const [name, reads] = ways[(turn + round) % ways.length]!;
        runs[name]!.push(await measure(reads, store, digests, writer, seconds, burst));
      }
    }
    await thread.close();
    await writer.terminate();
    await store.close();
    const show = (pauses: Pause[]) => `max: median ${median(pauses.map((pause) => pause.maxMs)).toFixed(2)} [${pauses.map((pause) => pause.maxMs.toFixed(1)).join(', ')}]  p99: median ${median(pauses.map((pause) => pause.p99Ms)).toFixed(2)}  busy: median ${median(pauses.map((pause) => pause.busy)).toFixed(2)}%`;
    process.stdout.write(`${keyCount} keys cached, poll every ${POLL_INTERVAL} ms, ${seconds} s per phase, ${rounds} rounds; event-loop delay of the request thread, ms\n`);
    for (const [name, measured] of Object.entries(runs)) {
      process.stdout.write(`${name.padEnd(24)} polls only        ${show(measured.map((run) => run.idle))}\n`);
      process.stdout.write(`${''.padEnd(24)} ${`${burst} changes/${BURST_EVERY} ms`.padEnd(17)} ${show(measured.map((run) => run.changes))}\n`);
    }
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}
