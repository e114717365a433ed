/**
 * The SQLite store's disk full under load: the store lives on a small tmpfs, which the test
 * fills to the last byte. Known keys keep working (they are answered from memory); usage
 * flushes fail (SQLITE_FULL), are logged at most once a minute with a count rather than once
 * per flush, and are kept; once space is freed the next flush writes them all, so no usage is
 * lost. The gateway never crashes.
 *
 * It mounts a tmpfs, so it runs only as root where `mount -t tmpfs` works. Elsewhere it is
 * skipped with one line, also when CI is set: a CI runner need not run tests as root, and a
 * test must not require it.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmdirSync, rmSync, statfsSync, writeSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openKeyStore } from '../../src/store/open-key-store.ts';
import { spawnFaultGateway, type FaultGateway, type LogLine } from '../support/fault-gateway.ts';
import { waitFor } from '../support/gateway-probes.ts';
import { createKeyInStore } from '../support/in-process-gateway.ts';
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.ts';
import { sentBetween, startSteadyLoad, withKey, type LoadReport } from '../support/steady-load.ts';

const FLUSH_INTERVAL_MS = 250;
const FULL_FOR_MS = 4000;
const FLUSH_FAILED = 'usage flush failed; will retry';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Null when a tmpfs can be mounted here; otherwise why not. Mounts and unmounts a probe once. */
function whyNoTmpfs(): string | null {
  if (userInfo().uid !== 0) return 'needs root to mount a tmpfs (skipped even when CI is set: CI need not run as root)';
  const probe = mkdtempSync(join(tmpdir(), 'portcullis-tmpfs-probe-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', probe], { stdio: 'pipe' });
    execFileSync('umount', [probe], { stdio: 'pipe' });
    return null;
  } catch (error) {
    return `mount -t tmpfs does not work here (${String((error as { stderr?: Buffer }).stderr ?? error).trim()}); skipped even when CI is set, since it needs root and mount`;
  } finally {
    rmdirSync(probe);
  }
}

/** Writes `path` until the filesystem refuses another byte; returns the bytes written. */
function fillDisk(path: string): number {
  const fd = openSync(path, 'w');
  let written = 0;
  try {
    for (const size of [1024 * 1024, 4096, 1]) {
      const chunk = Buffer.alloc(size, 0x78);
      for (;;) {
        try {
          const wrote = writeSync(fd, chunk);
          written += wrote;
          if (wrote < size) break;
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === 'ENOSPC') break;
          throw error;
        }
      }
    }
  } finally {
    closeSync(fd);
  }
  return written;
}

const noTmpfs = whyNoTmpfs();

describe('faults: the SQLite store\'s disk full under load', { skip: noTmpfs ?? false }, () => {
  let folder = '';
  let mounted = false;
  let upstream: RecordingUpstream;
  let gateway: FaultGateway;
  let report: LoadReport;
  let linesWhileFull: LogLine[] = [];
  let filledBytes = 0;
  let recoveredAfter = 0;
  const at = { filled: 0, freed: 0 };

  before(async () => {
    folder = mkdtempSync(join(tmpdir(), 'portcullis-full-disk-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=16m', 'tmpfs', folder]);
    mounted = true;
    const storePath = join(folder, 'keys.db');
    const { key } = await createKeyInStore(storePath);
    upstream = await startRecordingUpstream();
    gateway = await spawnFaultGateway(['--upstream', upstream.url, '--store', storePath], { PORTCULLIS_USAGE_FLUSH_INTERVAL: `${FLUSH_INTERVAL_MS}ms` });

    const load = startSteadyLoad({ origin: gateway.url, label: 'known', rate: 40, target: withKey(key) });
    await sleep(1000);
    at.filled = performance.now();
    filledBytes = fillDisk(join(folder, 'filler'));
    assert.equal(statfsSync(folder).bavail, 0, 'the disk is full');
    await sleep(FULL_FOR_MS);
    linesWhileFull = gateway.logLines(FLUSH_FAILED);
    at.freed = performance.now();
    rmSync(join(folder, 'filler'));
    const store = await openKeyStore(storePath);
    try {
      const usageWritten = async () => (await store.usageTotals(0, Date.now() + 3_600_000, 10))[0]?.requests ?? 0;
      // Everything answered while the disk was full is written by the first flush that succeeds.
      const servedWhileFull = load.snapshot().count((outcome) => outcome.status === 200);
      recoveredAfter = await waitFor(async () => (await usageWritten()) >= servedWhileFull, 5000, `usage of the ${servedWhileFull} requests answered before the space was freed written`);
      await sleep(2000);
      report = await load.stop();
      const served = report.count((outcome) => outcome.status === 200);
      await waitFor(async () => (await usageWritten()) === served, 5000, `usage of all ${served} requests written`);
    } finally {
      await store.close();
    }
  }, { timeout: 60_000 });

  after(async () => {
    await gateway?.stop();
    await upstream?.close();
    if (mounted) execFileSync('umount', ['-l', folder]);
    if (folder !== '') rmSync(folder, { recursive: true, force: true });
  });

  it('keeps serving known keys while the disk is full', (t) => {
    t.diagnostic(report.summary());
    t.diagnostic(`filled the 16 MB tmpfs with ${(filledBytes / 1024 / 1024).toFixed(1)} MB for ${FULL_FOR_MS} ms`);
    const full = sentBetween(at.filled, at.freed);
    assert.ok(report.count(full) > 0.8 * 40 * (FULL_FOR_MS / 1000));
    assert.deepEqual(report.tally(), { 200: report.outcomes.length });
    assert.ok(gateway.alive());
  });

  it('logs failed usage flushes once, with their cause, not once per flush', () => {
    assert.equal(linesWhileFull.length, 1, JSON.stringify(linesWhileFull));
    const [line] = linesWhileFull;
    assert.equal((line!.err as { code?: string }).code, 'SQLITE_FULL');
    assert.equal(line!.level, 40, 'a warning');
  });

  it('writes the usage it kept once space is free: nothing is lost', async (t) => {
    assert.ok(recoveredAfter <= 2000, `written ${Math.round(recoveredAfter)} ms after the space was freed (flush interval ${FLUSH_INTERVAL_MS} ms)`);
    t.diagnostic(`usage kept while the disk was full written ${Math.round(recoveredAfter)} ms after the space was freed (flush interval ${FLUSH_INTERVAL_MS} ms)`);
    await gateway.stop();
    // At shutdown the log says how many flushes failed in all.
    const lines = gateway.logLines(FLUSH_FAILED);
    const failures = lines.reduce((sum, line) => sum + Number(line.count), 0);
    assert.ok(lines.length <= 2, `${lines.length} lines`);
    assert.ok(failures >= (FULL_FOR_MS / FLUSH_INTERVAL_MS) / 2, `${failures} failed flushes counted`);
    t.diagnostic(`${failures} failed flushes reported in ${lines.length} log lines`);
  });
});
