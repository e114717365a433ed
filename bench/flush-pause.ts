/**
 * How long a usage and quota flush holds the request thread's event loop: the same flushes
 * (1,000 keys with usage and quota counts each, FLUSH_PAUSE_FLUSHES per run) written through
 * the store on this thread, and through the store write thread (src/store/write-thread/), in
 * alternating rounds with an A/A pair (this thread twice). Prints the event-loop delay
 * (`monitorEventLoopDelay`, 1 ms resolution) max and p99 of each run, and the medians.
 *
 *   node bench/flush-pause.ts        (FLUSH_PAUSE_ROUNDS, default 7; FLUSH_PAUSE_KEYS, 1000)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { QuotaLedger } from '../src/limits/quota-ledger.ts';
import { compileQuotaText } from '../src/limits/rate-policy.ts';
import { openKeyStore } from '../src/store/open-key-store.ts';
import type { UsageWrites } from '../src/store/usage-writes.ts';
import { StoreWriteThread } from '../src/store/write-thread/store-write-thread.ts';
import { UsageRecorder } from '../src/telemetry/usage-recorder.ts';
import { envNumber } from './bench-env.ts';
import { median } from './report.ts';
import { seedKeyStore } from './seed-key-store.ts';

const rounds = envNumber('FLUSH_PAUSE_ROUNDS', 7, { integer: true });
const keyCount = envNumber('FLUSH_PAUSE_KEYS', 1000, { integer: true });
const flushes = envNumber('FLUSH_PAUSE_FLUSHES', 15, { integer: true });
const quota = compileQuotaText('1000000000/day')!;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Pause {
  maxMs: number;
  p99Ms: number;
}

/** `flushes` flushes of one request per key, each between quiet stretches; the loop's delay meanwhile. */
async function measure(writes: UsageWrites, keyIds: readonly string[]): Promise<Pause> {
  const failed = (error: unknown) => {
    throw error;
  };
  const recorder = new UsageRecorder(writes, { retention: 30 * 86_400_000, onError: failed });
  const ledger = new QuotaLedger(writes, { maxEntries: keyIds.length * 2, onError: failed });
  const entries = await Promise.all(keyIds.map((id) => ledger.entry(id, quota, Date.now())));
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  histogram.enable();
  for (let flush = 0; flush < flushes; flush++) {
    const now = Date.now();
    keyIds.forEach((id, index) => {
      recorder.recordExchange(id, `10.0.${index >> 8}.${index & 255}`, now, now, 100, 200, null);
      ledger.admitted(entries[index]!, 0);
    });
    await sleep(20);
    await Promise.all([recorder.flush(), ledger.flush()]);
    await sleep(20);
  }
  histogram.disable();
  return { maxMs: histogram.max / 1e6, p99Ms: histogram.percentile(99) / 1e6 };
}

const directory = mkdtempSync(join(tmpdir(), 'portcullis-flush-pause-'));
try {
  const path = join(directory, 'keys.db');
  await seedKeyStore(path, keyCount);
  const store = await openKeyStore(path);
  const keyIds: string[] = [];
  for (let after: string | undefined; ;) {
    const page = await store.listKeys({ limit: 1000, ...(after === undefined ? {} : { after }) });
    keyIds.push(...page.map((key) => key.id));
    if (page.length < 1000) break;
    after = page.at(-1)!.id;
  }
  const thread = new StoreWriteThread(path, { onCrash: (error) => { throw error; } });
  const runs: Record<string, Pause[]> = { 'this thread': [], 'write thread': [], 'this thread again (A/A)': [] };
  const ways: Array<[string, UsageWrites]> = [['this thread', store], ['write thread', thread], ['this thread again (A/A)', store]];
  for (let round = 0; round < rounds; round++) {
    // The order turns every round, so no way always runs first.
    for (let turn = 0; turn < ways.length; turn++) {
      const [name, writes] = ways[(turn + round) % ways.length]!;
      runs[name]!.push(await measure(writes, keyIds));
    }
  }
  await thread.close();
  await store.close();
  process.stdout.write(`${keyCount} keys, ${flushes} flushes per run, ${rounds} rounds; event-loop delay of the request thread, ms\n`);
  for (const [name, pauses] of Object.entries(runs)) {
    process.stdout.write(`${name.padEnd(24)} max: median ${median(pauses.map((pause) => pause.maxMs)).toFixed(2)} [${pauses.map((pause) => pause.maxMs.toFixed(1)).join(', ')}]`
      + `  p99: median ${median(pauses.map((pause) => pause.p99Ms)).toFixed(2)}\n`);
  }
} finally {
  rmSync(directory, { recursive: true, force: true });
}
