import { createReadStream, type Dirent } from 'node:fs';
import { lstat, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { KeyStreamSearch, looksBinary } from '../keys/key-search.ts';
import { note, UsageError } from './cli-support.ts';

/**
 * What `portcullis scan` reads without `--git`: files, folders (recursively) and stdin (`-`).
 * Files are read as a stream, a chunk at a time, so a large log costs no more memory than a
 * small one. In folders, `.git` and `node_modules` are not entered, symbolic links are not
 * followed (no loops, nothing outside the folder), and binary files (a NUL byte in the first
 * 8000 bytes, as git decides) and files over the size limit are skipped and counted. A file
 * named on the command line is read whatever its size or content: it was asked for.
 */

/** Folders a scan does not enter: git's own store (`--git` reads history) and installed packages. */
const SKIPPED_FOLDERS = new Set(['.git', 'node_modules']);

/** One key seen at one place. The key itself never leaves the scan command. */
export interface Sighting {
  key: string;
  /** The file (as named or found under a named folder), `-` for stdin, or the path in a git commit. */
  path: string;
  line: number;
  column: number;
  /** With --git: the blob holding the key, and the commits that added it (oldest first). */
  blob?: string;
  commits?: string[];
}

export type SkipReason = 'binary' | 'too large' | 'unreadable';

/** What a scan read and what it left out. */
export class ScanTally {
  files = 0;
  bytes = 0;
  readonly skipped: Record<SkipReason, number> = { binary: 0, 'too large': 0, unreadable: 0 };

  scanned(bytes: number): void {
    this.files++;
    this.bytes += bytes;
  }

  /** Counts a skipped file; a person is told about each one that may hold text (too large, unreadable). */
  skip(path: string, reason: SkipReason, detail = ''): void {
    this.skipped[reason]++;
    if (reason !== 'binary') note(`skipped ${path}: ${reason}${detail}`);
  }
}

export interface ScanLimits {
  /** Files in folders larger than this are skipped. */
  maxFileSize: number;
}

/** Searches a stream for keys; null when `skipBinary` and it starts like a binary file. */
async function searchStream(input: Readable, path: string, skipBinary: boolean, tally: ScanTally, onSighting: (sighting: Sighting) => void): Promise<boolean> {
  const search = new KeyStreamSearch();
  let bytes = 0;
  for await (const chunk of input as AsyncIterable<Buffer | string>) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : chunk;
    if (bytes === 0 && skipBinary && looksBinary(buffer)) {
      input.destroy();
      return false;
    }
    bytes += buffer.length;
    for (const sighting of search.push(buffer.toString('latin1'))) onSighting({ ...sighting, path });
  }
  for (const sighting of search.end()) onSighting({ ...sighting, path });
  tally.scanned(bytes);
  return true;
}

async function scanFile(path: string, inFolder: boolean, tally: ScanTally, onSighting: (sighting: Sighting) => void): Promise<void> {
  try {
    if (!(await searchStream(createReadStream(path, { highWaterMark: 1 << 20 }), path, inFolder, tally, onSighting))) tally.skip(path, 'binary');
  } catch (error) {
    if (!inFolder) throw error;
    tally.skip(path, 'unreadable', ` (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
}

async function scanFolder(folder: string, limits: ScanLimits, tally: ScanTally, onSighting: (sighting: Sighting) => void): Promise<void> {
  let entries: Dirent[];
  try {
    entries = await readdir(folder, { withFileTypes: true });
  } catch (error) {
    tally.skip(folder, 'unreadable', ` (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
    return;
  }
  // Sorted, so that findings come out in the same order on every run.
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of entries) {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) {
      if (!SKIPPED_FOLDERS.has(entry.name)) await scanFolder(path, limits, tally, onSighting);
    } else if (entry.isFile()) {
      const size = (await lstat(path).catch(() => null))?.size ?? 0;
      if (size > limits.maxFileSize) tally.skip(path, 'too large', ` (${size} bytes; --max-file-size to raise the limit, or name the file)`);
      else await scanFile(path, true, tally, onSighting);
    }
    // Symbolic links, sockets, FIFOs and devices in a folder are left alone.
  }
}

/** Scans each of `paths` (files, folders, `-` for stdin), in order. A path that is not there is a usage error. */
export async function scanPaths(paths: readonly string[], limits: ScanLimits, tally: ScanTally, onSighting: (sighting: Sighting) => void): Promise<void> {
  for (const path of paths) {
    if (path === '-') {
      await searchStream(process.stdin, '-', false, tally, onSighting);
      continue;
    }
    const info = await stat(path).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT' || error.code === 'ENOTDIR') throw new UsageError(`scan: no such file or folder: ${path}`);
      throw error;
    });
    if (info.isDirectory()) await scanFolder(path, limits, tally, onSighting);
    else await scanFile(path, false, tally, onSighting);
  }
}
