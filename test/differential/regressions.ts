/**
 * Failures found by the generators, kept as regression cases: every run replays them first (as
 * fast-check `examples`), on every upstream, before it generates new variants. A case is the
 * shrunk request itself, symbolic (keys as placeholders), so it replays whatever the
 * generators have become since; the seed and path say how fast-check found it
 * (`PORTCULLIS_DIFFERENTIAL_SEED=<seed>` regenerates the same run).
 *
 * Remove an entry only when the difference it shows is accepted as harmless.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RequestVariant } from './request-variant.ts';

const FILE = join(import.meta.dirname, 'regressions.json');

/** At most this many cases per class and upstream: the newest are kept. */
const KEPT_PER_CLASS_AND_UPSTREAM = 3;

export interface RegressionCase {
  class: string;
  upstream: string;
  seed: number;
  path: string | null;
  /** What the oracle found, when it was found. */
  problems: string[];
  request: RequestVariant;
}

function readCases(): RegressionCase[] {
  return existsSync(FILE) ? (JSON.parse(readFileSync(FILE, 'utf8')) as RegressionCase[]) : [];
}

/** The saved requests of a class, found on any upstream. */
export function regressionRequests(variantClass: string): RequestVariant[] {
  const seen = new Set<string>();
  return readCases()
    .filter((entry) => entry.class === variantClass)
    .map((entry) => entry.request)
    .filter((request) => {
      const text = JSON.stringify(request);
      return !seen.has(text) && seen.add(text) !== undefined;
    });
}

/** Saves a shrunk failure, unless that request is saved already for its class and upstream. */
export function saveRegression(entry: RegressionCase): void {
  const cases = readCases();
  const text = JSON.stringify(entry.request);
  if (cases.some((saved) => saved.class === entry.class && saved.upstream === entry.upstream && JSON.stringify(saved.request) === text)) return;
  const sameSlot = cases.filter((saved) => saved.class === entry.class && saved.upstream === entry.upstream);
  const dropped = new Set(sameSlot.slice(0, Math.max(0, sameSlot.length + 1 - KEPT_PER_CLASS_AND_UPSTREAM)));
  const kept = [...cases.filter((saved) => !dropped.has(saved)), entry].sort((a, b) => a.class.localeCompare(b.class) || a.upstream.localeCompare(b.upstream));
  writeFileSync(FILE, `${JSON.stringify(kept, null, 2)}\n`);
}
