/**
 * Reading the benchmarks' `BENCH_*` / `INSTR_*` settings from the environment, the same way in
 * every bench script: a wrong value stops the run with a message naming the variable.
 */

/** A setting the user got wrong; scripts print its message alone and exit 2. */
export class BenchUsageError extends Error {}

/** A number from `name`, or `fallback` when unset or empty. Positive unless `allowZero`. */
export function envNumber(name: string, fallback: number, { integer = false, allowZero = false } = {}): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  const valid = Number.isFinite(value) && (allowZero ? value >= 0 : value > 0) && (!integer || Number.isInteger(value));
  if (!valid) throw new BenchUsageError(`${name} must be a ${integer ? 'whole ' : ''}number ${allowZero ? '>= 0' : '> 0'}, not ${JSON.stringify(raw)}`);
  return value;
}

/** `1`/`true` or `0`/`false` from `name`, or `fallback` when unset or empty. */
export function envFlag(name: string, fallback: boolean): boolean {
  const raw = process.env[name]?.trim();
  if (raw === undefined || raw === '') return fallback;
  if (raw === '1' || raw === 'true') return true;
  if (raw === '0' || raw === 'false') return false;
  throw new BenchUsageError(`${name} must be 1 or 0 (true or false), not ${JSON.stringify(raw)}`);
}
