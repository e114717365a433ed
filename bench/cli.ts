/**
 * How long the CLI takes to start and answer, against an empty `node` on the same runtime:
 * `portcullis --help`, `keys list` on a store of 1,000 keys, and `keys create` on it. Each
 * command runs BENCH_CLI_RUNS times (default 20), the commands taking turns so that a busy
 * neighbour slows them alike; the report gives medians and each command's difference from
 * the empty start.
 *
 *   npm run bench:cli
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { envNumber } from './bench-env.ts';
import { seedKeyStore } from './seed-key-store.ts';

const repoRoot = resolve(import.meta.dirname, '..');
const main = join(repoRoot, 'src/cli/main.js');

interface Row {
  name: string;
  args: string[];
  times: number[];
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

/** Runs one command to its end; returns its wall time in seconds. A failing command stops the benchmark. */
function timeRun(row: Row, cwd: string): number {
  const started = performance.now();
  const result = spawnSync(process.execPath, row.args, { cwd, encoding: 'utf8', env: { ...process.env, PORTCULLIS_CONFIG: '' } });
  const seconds = (performance.now() - started) / 1000;
  if (result.status !== 0) throw new Error(`${row.name} exited ${result.status}: ${result.stderr.slice(0, 400)}`);
  return seconds;
}

async function run(): Promise<void> {
  const runs = envNumber('BENCH_CLI_RUNS', 20, { integer: true });
  const directory = mkdtempSync(join(tmpdir(), 'portcullis-bench-cli-'));
  try {
    const store = join(directory, 'keys.db');
    await seedKeyStore(store, 1000);
    const rows: Row[] = [
      { name: 'node -e \'\'', args: ['-e', ''], times: [] },
      { name: 'portcullis --help', args: [main, '--help'], times: [] },
      { name: 'keys list (1,000 keys)', args: [main, 'keys', 'list', '--store', store], times: [] },
      { name: 'keys create', args: [main, 'keys', 'create', '--name', 'bench-cli', '--store', store, '--json'], times: [] },
    ];
    // One unrecorded turn first: the file cache and the compile cache warm up alike for every row.
    for (const row of rows) timeRun(row, directory);
    for (let turn = 0; turn < runs; turn++) for (const row of rows) row.times.push(timeRun(row, directory));
    const baseline = median((rows[0] as Row).times);
    process.stdout.write(`Node.js ${process.version}, ${runs} runs each, commands in turns (medians)\n\n`);
    process.stdout.write(`${'command'.padEnd(26)} ${'median s'.padStart(9)} ${'over node -e'.padStart(13)}\n`);
    for (const row of rows) {
      const value = median(row.times);
      process.stdout.write(`${row.name.padEnd(26)} ${value.toFixed(3).padStart(9)} ${(row === rows[0] ? '-' : `+${(value - baseline).toFixed(3)}`).padStart(13)}\n`);
    }
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

await run();
