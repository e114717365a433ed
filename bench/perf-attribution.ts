/**
 * Where a server's CPU time goes, by whose JavaScript asked for it: reads `perf script` output
 * (call-graph samples of two servers recorded by `BENCH_PERF=<dir> npm run bench:shared-core`)
 * and charges each main-thread sample to the leaf-most JavaScript frame on its stack. That
 * frame says which code the time was spent for, including the V8 builtins and runtime calls it
 * made: Portcullis's own code (`src/`), undici, Node's internals, other JavaScript, or none (the
 * event loop, the kernel, garbage collection on the main thread). Samples of other threads (V8's
 * compiler and GC helpers) are counted apart. With request counts, figures are per 1,000
 * requests, so two servers that served different numbers compare directly.
 *
 * Why by leaf-most JavaScript frame and not by symbol: V8 inlines freely, so a symbol's self
 * time moves between functions from one process to the next, and `--perf-basic-prof` maps can
 * name code compiled late after code freed earlier at the same address (seen here: undici's
 * wasm call path reported as an Ajv validator). Stacks are less fooled by either.
 *
 * Usage: perf script -i <dir>/round-1.data -F comm,pid,tid,ip,sym | node bench/perf-attribution.ts <dir>/round-1.json
 */
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

export const CATEGORIES = ['project', 'undici', 'node', 'other-js', 'no-js', 'other-threads'] as const;
export type Category = (typeof CATEGORIES)[number];

export interface ProcessSamples {
  pid: number;
  samples: Record<Category, number>;
}

/** The category of one main-thread sample, from its frames' symbols, leaf first. */
export function categorise(symbols: readonly string[]): Category {
  const js = symbols.find((symbol) => symbol.startsWith('JS:'));
  if (js === undefined) return 'no-js';
  if (js.includes('/src/')) return 'project';
  if (js.includes('node_modules/undici/')) return 'undici';
  if (/\bnode:/.test(js)) return 'node';
  return 'other-js';
}

const HEADER = /^\s*(?:\S.*?\s+)?(\d+)\/(\d+)\s*$/;
// A frame: "<address> <symbol> (<object>)"; the symbol may contain spaces.
const FRAME = /^\s*[0-9a-f]+\s+(.*?)(?:\s+\([^()]*\))?\s*$/;

/**
 * Per-process sample counts, fed `perf script -F comm,pid,tid,ip,sym` output line by line
 * (a stack per sample, stacks separated by blank lines): its output runs to tens of MB.
 */
export class SampleAttribution {
  readonly processes = new Map<number, ProcessSamples>();
  #pid = -1;
  #tid = -1;
  #symbols: string[] = [];

  addLine(line: string): void {
    if (line.trim() === '') {
      this.#endSample();
      return;
    }
    const header = this.#pid < 0 ? HEADER.exec(line) : null;
    if (header !== null) {
      this.#pid = Number(header[1]);
      this.#tid = Number(header[2]);
      return;
    }
    const frame = FRAME.exec(line);
    if (frame !== null) this.#symbols.push(frame[1] as string);
  }

  /** Call after the last line (a last stack need not end with a blank line). */
  finish(): Map<number, ProcessSamples> {
    this.#endSample();
    return this.processes;
  }

  #endSample(): void {
    const pid = this.#pid;
    if (pid < 0) return;
    let entry = this.processes.get(pid);
    if (entry === undefined) {
      entry = { pid, samples: Object.fromEntries(CATEGORIES.map((category) => [category, 0])) as Record<Category, number> };
      this.processes.set(pid, entry);
    }
    entry.samples[pid === this.#tid ? categorise(this.#symbols) : 'other-threads']++;
    this.#pid = -1;
    this.#symbols = [];
  }
}

/** `SampleAttribution` over a whole text at once. */
export function attributeSamples(text: string): Map<number, ProcessSamples> {
  const attribution = new SampleAttribution();
  for (const line of text.split('\n')) attribution.addLine(line);
  return attribution.finish();
}

/** What `bench:shared-core` writes beside each round's perf data. */
export interface RoundRows {
  rows: Array<{ name: string; pid: number; requests: number }>;
}

/** A table of the rows' samples per 1,000 requests, the last row's difference from the first. */
export function formatAttribution(processes: Map<number, ProcessSamples>, round: RoundRows): string {
  const columns = round.rows.map((row) => {
    const samples = processes.get(row.pid)?.samples;
    if (samples === undefined) throw new Error(`no samples of ${row.name} (pid ${row.pid}) in the perf data`);
    return { name: row.name, perThousand: (category: Category) => (samples[category] * 1000) / row.requests };
  });
  const first = columns[0];
  const last = columns.at(-1);
  if (first === undefined || last === undefined) throw new Error('the round names no rows');
  const lines = [`samples per 1,000 requests   ${columns.map((column) => column.name.padStart(12)).join(' ')}   difference`];
  const total = (column: typeof first) => CATEGORIES.reduce((sum, category) => sum + column.perThousand(category), 0);
  for (const category of CATEGORIES) {
    const cells = columns.map((column) => column.perThousand(category).toFixed(1).padStart(12)).join(' ');
    lines.push(`${category.padEnd(28)} ${cells}   ${(last.perThousand(category) - first.perThousand(category)).toFixed(1).padStart(10)}`);
  }
  lines.push(`${'total'.padEnd(28)} ${columns.map((column) => total(column).toFixed(1).padStart(12)).join(' ')}   ${(total(last) - total(first)).toFixed(1).padStart(10)}`);
  return `${lines.join('\n')}\n`;
}

if (import.meta.main) {
  const roundFile = process.argv[2];
  if (roundFile === undefined) {
    process.stderr.write('usage: perf script -i <dir>/round-N.data -F comm,pid,tid,ip,sym | node bench/perf-attribution.ts <dir>/round-N.json\n');
    process.exit(2);
  }
  const round = JSON.parse(readFileSync(roundFile, 'utf8')) as RoundRows;
  const attribution = new SampleAttribution();
  for await (const line of createInterface({ input: process.stdin, crlfDelay: Infinity })) attribution.addLine(line);
  process.stdout.write(formatAttribution(attribution.finish(), round));
}
