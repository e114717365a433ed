import { relative, resolve, sep } from 'node:path';

/**
 * `openapi.refMap`: remote URL prefixes and the local copies that stand for them. A prefix
 * that ends in `/` maps to a folder (`https://schemas.example.com/v2/` → `./vendor/v2/`), and
 * the rest of the URL is a path inside it that cannot climb out of it; any other prefix is one
 * URL mapped to one file. The longest matching prefix wins.
 */
export class RefMap {
  readonly #entries: ReadonlyArray<readonly [string, string]>;

  /** `entries`: prefix → absolute local path. */
  constructor(entries: Readonly<Record<string, string>>) {
    this.#entries = Object.entries(entries).sort(([left], [right]) => right.length - left.length);
  }

  /** The local file for `url` (its fragment ignored), or null when no entry maps it. */
  localPath(url: string): string | null {
    const address = url.split('#')[0] as string;
    for (const [prefix, local] of this.#entries) {
      if (!prefix.endsWith('/')) {
        if (address === prefix) return local;
        continue;
      }
      if (!address.startsWith(prefix)) continue;
      let rest: string;
      try {
        rest = decodeURIComponent(address.slice(prefix.length));
      } catch {
        return null;
      }
      const file = resolve(local, rest);
      const inside = relative(local, file);
      return inside !== '' && !inside.startsWith(`..${sep}`) && inside !== '..' && !rest.includes('\0') ? file : null;
    }
    return null;
  }
}
