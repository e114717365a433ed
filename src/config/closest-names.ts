/**
 * "Did you mean …?" for names a person typed: unknown config keys, `PORTCULLIS_*` variables and
 * (through commander) flags. The same rule as commander's: the Damerau–Levenshtein distance
 * (an adjacent swap counts as one edit), at most 3 edits and less than 60 % of the name
 * changed, case ignored; only the closest candidates are offered.
 */

const MAX_DISTANCE = 3;
const MIN_SIMILARITY = 0.4;

/** Edits (insert, delete, substitute, swap two neighbours) that turn `a` into `b`. */
export function editDistance(a: string, b: string): number {
  const rows: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) (rows[0] as number[])[j] = j;
  for (let i = 1; i <= a.length; i++) {
    const row = rows[i] as number[];
    const above = rows[i - 1] as number[];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row[j] = Math.min((above[j] as number) + 1, (row[j - 1] as number) + 1, (above[j - 1] as number) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) row[j] = Math.min(row[j] as number, ((rows[i - 2] as number[])[j - 2] as number) + 1);
    }
  }
  return (rows[a.length] as number[])[b.length] as number;
}

/**
 * The candidates closest to `name`, or none when nothing is close enough.
 *
 * @example closestNames('PORTCULLIS_NETWORK_ALOW', ['PORTCULLIS_NETWORK_ALLOW', 'PORTCULLIS_NETWORK_DENY']) // ['PORTCULLIS_NETWORK_ALLOW']
 */
export function closestNames(name: string, candidates: Iterable<string>): string[] {
  const typed = name.toLowerCase();
  let best = MAX_DISTANCE + 1;
  let closest: string[] = [];
  for (const candidate of new Set(candidates)) {
    const distance = editDistance(typed, candidate.toLowerCase());
    const length = Math.max(typed.length, candidate.length);
    if (distance > MAX_DISTANCE || (length - distance) / length <= MIN_SIMILARITY) continue;
    if (distance < best) [best, closest] = [distance, [candidate]];
    else if (distance === best) closest.push(candidate);
  }
  return closest.sort();
}

/** ` (did you mean X?)`, ` (did you mean X or Y?)`, or nothing. */
export function didYouMean(name: string, candidates: Iterable<string>): string {
  const closest = closestNames(name, candidates);
  if (closest.length === 0) return '';
  return `; did you mean ${closest.length === 1 ? closest[0] : `${closest.slice(0, -1).join(', ')} or ${closest.at(-1)}`}?`;
}
