/**
 * The event-loop probe every bench row's server carries (loop-delay-probe.ts, read by
 * loop-delay.ts): a loop kept busy running code shows its pause both by the wall clock and on
 * CPU; a thread that waits off the CPU for as long shows it by the wall clock only.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { temporaryDirectory } from '../test/support/processes.ts';
import { loopDelayEnv, markLoopDelay, type LoopDelay } from './loop-delay.ts';

const PAUSE_MS = 60;

/**
 * Runs a probed process that pauses its loop once for PAUSE_MS, by `how`, and answers the
 * harness's mark after it: the delay the probe saw over that stretch.
 */
async function pauseOnce(how: 'run' | 'wait'): Promise<LoopDelay> {
  const directory = temporaryDirectory();
  try {
    const script = join(directory.path, 'pause.mjs');
    const pause = how === 'run'
      // Bounded by the thread's CPU time, not the clock: on a loaded machine it still runs PAUSE_MS.
      ? `const cpu = () => { const used = process.threadCpuUsage(); return (used.user + used.system) / 1000; }; const end = cpu() + ${PAUSE_MS}; while (cpu() < end);`
      : `Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ${PAUSE_MS});`;
    // Waits for the probe's first report, pauses, lets a few ticks pass, then says it is done.
    writeFileSync(script, `
      await new Promise((resolve) => setTimeout(resolve, 100));
      ${pause}
      await new Promise((resolve) => setTimeout(resolve, 50));
      process.stdout.write('paused\\n');
      setInterval(() => {}, 1000);
    `);
    const env = { ...process.env, ...loopDelayEnv(join(directory.path, 'probe')) };
    const child = spawn(process.execPath, [script], { env, stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const [chunk] = (await once(child.stdout, 'data')) as [Buffer];
      assert.equal(chunk.toString(), 'paused\n');
      const seen = await markLoopDelay(join(directory.path, 'probe'), child.pid!);
      assert.ok(seen !== null, 'the probe answered');
      return seen;
    } finally {
      child.kill();
    }
  } finally {
    directory.remove();
  }
}

describe('loop-delay probe', () => {
  it('counts a pause spent running code on CPU and by the wall clock', async () => {
    const seen = await pauseOnce('run');
    assert.ok(seen.maxMs >= PAUSE_MS * 0.8, `wall-clock max ${seen.maxMs} ms`);
    assert.ok(seen.onCpuMaxMs >= PAUSE_MS * 0.8, `on-CPU max ${seen.onCpuMaxMs} ms`);
  });

  it('counts a pause spent off the CPU by the wall clock only', async () => {
    const seen = await pauseOnce('wait');
    assert.ok(seen.maxMs >= PAUSE_MS * 0.8, `wall-clock max ${seen.maxMs} ms`);
    assert.ok(seen.onCpuMaxMs < PAUSE_MS / 3, `on-CPU max ${seen.onCpuMaxMs} ms, for a loop that waited ${PAUSE_MS} ms without running`);
  });
});
